using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Abstractions;

/// <summary>
/// For gates that must read a body before the inspection step (a federation membership event, an ActivityPub
/// activity): read it whole within a limit, then hand the same bytes back so the request forwards exactly them.
/// </summary>
public static class GateBodies
{
    /// <summary>The whole body, or null when it is longer than <paramref name="limit"/> bytes (said or found).</summary>
    public static async Task<byte[]?> ReadBoundedAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 16 * 1024, limit) + 1);
        var count = 0;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit + 1));
                    Buffer.BlockCopy(buffer, 0, bigger, 0, count);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(count), cancellationToken);
                if (read == 0)
                {
                    return buffer.AsSpan(0, count).ToArray();
                }

                count += read;
                if (count > limit)
                {
                    return null;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Puts the bytes read back as the request body, whole, so Content-Length (and any Digest over it) stays exact.</summary>
    public static void Restore(HttpRequest request, byte[] bytes)
    {
        request.Body = new MemoryStream(bytes, writable: false);
        request.ContentLength = bytes.Length;
        request.Headers.Remove("Transfer-Encoding");
    }
}
