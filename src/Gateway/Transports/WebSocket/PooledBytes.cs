using System.Buffers;

namespace Gateway.Transports.WebSocket;

/// <summary>A growable byte buffer rented from the shared pool; <see cref="Release"/> gives it back.</summary>
internal sealed class PooledBytes
{
    private byte[] _array = System.Array.Empty<byte>();

    public int Length { get; set; }

    public byte[] Array => _array;

    public Span<byte> Span => _array.AsSpan(0, Length);

    public Memory<byte> Memory => _array.AsMemory(0, Length);

    public void EnsureCapacity(int capacity)
    {
        if (capacity <= _array.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, Math.Max(256, _array.Length * 2)));
        _array.AsSpan(0, Length).CopyTo(bigger);
        var old = _array;
        _array = bigger;
        if (old.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(old);
        }
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        EnsureCapacity(Length + data.Length);
        data.CopyTo(_array.AsSpan(Length));
        Length += data.Length;
    }

    /// <summary>Returns a large array to the pool between messages so an idle connection holds little.</summary>
    public void Reset(int keepUpTo = 16 * 1024)
    {
        Length = 0;
        if (_array.Length > keepUpTo)
        {
            Release();
        }
    }

    public void Release()
    {
        var a = _array;
        _array = System.Array.Empty<byte>();
        Length = 0;
        if (a.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(a);
        }
    }
}
