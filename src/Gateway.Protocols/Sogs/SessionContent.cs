using Google.Protobuf;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// The text of a Session post: <c>Content.dataMessage.body</c> and <c>Content.dataMessage.profile.displayName</c>
/// (field numbers in <c>session.proto</c> beside this file), read with <see cref="CodedInputStream"/> after removing
/// Session's padding the way SOGS does. Parsed like protobuf does: a repeated singular field's last value wins,
/// repeated embedded messages merge, unknown fields are skipped.
/// </summary>
internal sealed record SessionContent(string Body, string? DisplayName)
{
    /// <summary>Null when the bytes are not a protobuf message (SOGS's own parser would throw on them).</summary>
    public static SessionContent? Read(ReadOnlySpan<byte> padded)
    {
        var data = RemovePadding(padded);
        string body = string.Empty;
        string? name = null;
        try
        {
            var input = new CodedInputStream(data.ToArray());
            ReadMessage(input, 0, (tag, s) =>
            {
                if (tag == 1)
                {
                    ReadMessage(s, 1, (t2, s2) =>
                    {
                        if (t2 == 1)
                        {
                            body = s2.ReadString();
                            return true;
                        }

                        if (t2 == 101)
                        {
                            ReadMessage(s2, 2, (t3, s3) =>
                            {
                                if (t3 == 1)
                                {
                                    name = s3.ReadString();
                                    return true;
                                }

                                return false;
                            });
                            return true;
                        }

                        return false;
                    });
                    return true;
                }

                return false;
            });
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }

        return new SessionContent(body, name);
    }

    /// <summary>
    /// session-pysogs <c>utils.remove_session_message_padding</c>: if the data ends in 0x00 or 0x80, strip trailing
    /// zeros; if a 0x80 is then last, drop it too; otherwise keep everything.
    /// </summary>
    public static ReadOnlySpan<byte> RemovePadding(ReadOnlySpan<byte> data)
    {
        if (data.Length > 0 && data[^1] is 0x00 or 0x80)
        {
            var stripped = data.TrimEnd((byte)0);
            if (stripped.Length > 0 && stripped[^1] == 0x80)
            {
                return stripped[..^1];
            }
        }

        return data;
    }

    /// <summary>
    /// Reads one message's fields: length-delimited fields whose number <paramref name="field"/> takes are handed to it,
    /// every other field is skipped. <paramref name="depth"/> 0 is the outer message (read to the end of input).
    /// </summary>
    private static void ReadMessage(CodedInputStream input, int depth, Func<int, CodedInputStream, bool> field)
    {
        if (depth > 0)
        {
            var inner = new CodedInputStream(input.ReadBytes().ToByteArray());
            ReadFields(inner, field);
            return;
        }

        ReadFields(input, field);
    }

    private static void ReadFields(CodedInputStream input, Func<int, CodedInputStream, bool> field)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var number = WireFormat.GetTagFieldNumber(tag);
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited && field(number, input))
            {
                continue;
            }

            input.SkipLastField();
        }
    }
}
