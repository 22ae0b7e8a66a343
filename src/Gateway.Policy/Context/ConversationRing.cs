using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Gateway.Policy.Context;

/// <summary>
/// The last messages of one conversation, laid end to end in one byte array that wraps around: no string or object
/// per message. A record is <c>[time ticks: 8][text length: 2][sender length: 1][sender UTF-8][text UTF-8]</c> and
/// may be split by the end of the array. Not thread-safe: <see cref="ConversationStore"/> locks the instance.
/// </summary>
/// <remarks>
/// Growth doubles, but never past what the conversation is predicted to need when full (N times the average record
/// so far): plain doubling would take ten 221-byte records to a 4096-byte array, 85 % slack on every conversation.
/// </remarks>
internal sealed class ConversationRing
{
    internal const int HeaderBytes = 11;
    internal const int MaxSenderBytes = byte.MaxValue;

    // A million of these are alive at once: fields are kept to 24 bytes (40 with the object header), the limits
    // are passed in by the store, and -1 in _count marks a dead ring.
    private byte[] _buffer = [];
    private int _start;
    private int _used;
    private int _count;

    /// <summary>Set once the conversation left the cache and its bytes were wiped; appenders must look again.</summary>
    public bool IsDead => _count < 0;

    /// <summary>The size this conversation was last committed to the cache with.</summary>
    public int AccountedSize { get; set; }

    public int Capacity => _buffer.Length;

    public int Count => Math.Max(0, _count);

    /// <summary>The array itself, for tests that check freed bytes are zeroed.</summary>
    internal byte[] BufferForTests => _buffer;

    /// <summary>Adds a record, overwriting the oldest ones as needed. Returns true when the array grew.</summary>
    public bool Append(in RingLimits limits, long ticks, ReadOnlySpan<byte> sender, ReadOnlySpan<byte> text)
    {
        var length = HeaderBytes + sender.Length + text.Length;
        if (_count == limits.MaxMessages)
        {
            EvictOldest();
        }

        var grew = false;
        while (_buffer.Length - _used < length)
        {
            if (_buffer.Length < limits.MaxCapacity)
            {
                Grow(limits, _used + length);
                grew = true;
            }
            else
            {
                EvictOldest();
            }
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteInt64LittleEndian(header, ticks);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], (ushort)text.Length);
        header[10] = (byte)sender.Length;
        var at = Wrap(_start + _used);
        at = Write(at, header);
        at = Write(at, sender);
        Write(at, text);
        _used += length;
        _count++;
        return grew;
    }

    public ContextMessage[] Snapshot()
    {
        if (_count <= 0)
        {
            return [];
        }

        var messages = new ContextMessage[_count];
        var at = _start;
        for (var i = 0; i < _count; i++)
        {
            var (ticks, senderLength, textLength) = ReadHeader(at);
            var senderAt = Wrap(at + HeaderBytes);
            var sender = Decode(senderAt, senderLength);
            var text = Decode(Wrap(senderAt + senderLength), textLength);
            messages[i] = new ContextMessage(new DateTimeOffset(ticks, TimeSpan.Zero), sender, text);
            at = Wrap(at + HeaderBytes + senderLength + textLength);
        }

        return messages;
    }

    /// <summary>Whether any kept record was sent by <paramref name="sender"/> (UTF-8, cut as on append).</summary>
    public bool HasSender(ReadOnlySpan<byte> sender)
    {
        var at = _start;
        for (var i = 0; i < _count; i++)
        {
            var (_, senderLength, textLength) = ReadHeader(at);
            if (senderLength == sender.Length && SameBytes(Wrap(at + HeaderBytes), sender))
            {
                return true;
            }

            at = Wrap(at + HeaderBytes + senderLength + textLength);
        }

        return false;
    }

    /// <summary>Zeroes every byte and lets the array go. The ring stays dead.</summary>
    public void Wipe()
    {
        Array.Clear(_buffer);
        _buffer = [];
        _start = 0;
        _used = 0;
        _count = -1;
    }

    /// <summary>Never prints the contents.</summary>
    public override string ToString() => $"ConversationRing {{ Count = {Count}, Capacity = {_buffer.Length}, Dead = {IsDead} }}";

    private void EvictOldest()
    {
        var (_, senderLength, textLength) = ReadHeader(_start);
        var length = HeaderBytes + senderLength + textLength;
        Clear(_start, length);
        _start = Wrap(_start + length);
        _used -= length;
        _count--;
        if (_count == 0)
        {
            _start = 0;
        }
    }

    private void Grow(in RingLimits limits, int needed)
    {
        var predicted = (int)Math.Min(limits.MaxCapacity, (long)needed * limits.MaxMessages / (_count + 1));
        var doubled = (int)Math.Min(limits.MaxCapacity, 2L * _buffer.Length);
        var capacity = Math.Max(needed, Math.Min(predicted, doubled));
        var grown = new byte[capacity];
        var first = Math.Min(_used, _buffer.Length - _start);
        _buffer.AsSpan(_start, first).CopyTo(grown);
        _buffer.AsSpan(0, _used - first).CopyTo(grown.AsSpan(first));
        Array.Clear(_buffer);
        _buffer = grown;
        _start = 0;
    }

    private (long Ticks, int SenderLength, int TextLength) ReadHeader(int at)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        Read(at, header);
        return (BinaryPrimitives.ReadInt64LittleEndian(header), header[10], BinaryPrimitives.ReadUInt16LittleEndian(header[8..]));
    }

    private int Wrap(int offset) => offset >= _buffer.Length ? offset - _buffer.Length : offset;

    private int Write(int at, ReadOnlySpan<byte> source)
    {
        var first = Math.Min(source.Length, _buffer.Length - at);
        source[..first].CopyTo(_buffer.AsSpan(at));
        source[first..].CopyTo(_buffer);
        return Wrap(at + source.Length);
    }

    private void Read(int at, Span<byte> destination)
    {
        var first = Math.Min(destination.Length, _buffer.Length - at);
        _buffer.AsSpan(at, first).CopyTo(destination);
        _buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    private void Clear(int at, int length)
    {
        var first = Math.Min(length, _buffer.Length - at);
        Array.Clear(_buffer, at, first);
        Array.Clear(_buffer, 0, length - first);
    }

    private bool SameBytes(int at, ReadOnlySpan<byte> other)
    {
        var first = Math.Min(other.Length, _buffer.Length - at);
        return _buffer.AsSpan(at, first).SequenceEqual(other[..first])
            && _buffer.AsSpan(0, other.Length - first).SequenceEqual(other[first..]);
    }

    private string Decode(int at, int length)
    {
        if (at + length <= _buffer.Length)
        {
            return Encoding.UTF8.GetString(_buffer, at, length);
        }

        // A record split by the end of the array: join the halves in a scratch buffer, then wipe the scratch.
        var scratch = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Read(at, scratch.AsSpan(0, length));
            return Encoding.UTF8.GetString(scratch, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch, clearArray: true);
        }
    }
}

/// <summary>What every ring of a store may hold: messages, and bytes (N largest possible records).</summary>
internal readonly record struct RingLimits(int MaxMessages, int MaxCapacity)
{
    public static RingLimits For(int maxMessages, int maxMessageBytes) =>
        new(maxMessages, maxMessages * (ConversationRing.HeaderBytes + ConversationRing.MaxSenderBytes + maxMessageBytes));
}
