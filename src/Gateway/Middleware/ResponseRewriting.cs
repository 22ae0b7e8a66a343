using System.Buffers;
using System.IO.Pipelines;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Middleware;

/// <summary>
/// Stands in for the response body while YARP copies the backend's answer, for a request whose adapter asked for an
/// <see cref="IResponseRewriter"/>: the answer is held in a pooled buffer up to the body limit, then handed to the
/// rewriter and sent with a correct Content-Length. An answer over the limit switches to streaming unchanged (what
/// was held is sent first), so a large answer is never cut or held whole. Only installed when a rewriter is present.
/// </summary>
internal sealed class ResponseRewriting : Stream, IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private readonly long _limit;
    private byte[] _buffer;
    private int _count;
    private PipeWriter? _writer;

    private ResponseRewriting(IHttpResponseBodyFeature inner, long limit)
    {
        _inner = inner;
        _limit = limit;
        _buffer = ArrayPool<byte>.Shared.Rent(4096);
    }

    /// <summary>True once the answer outgrew the limit and streams through unchanged.</summary>
    public bool Streaming { get; private set; }

    /// <summary>
    /// Runs <paramref name="forward"/> with the answer held, then rewrites and sends it. Content codings are not
    /// decoded: the request's Accept-Encoding is removed so the backend answers in identity, and a coded answer
    /// passes unchanged.
    /// </summary>
    public static async Task RunAsync(HttpContext context, IResponseRewriter rewriter, long limit, Func<Task> forward, Action<Exception> onRewriterFault)
    {
        context.Request.Headers.Remove("Accept-Encoding");
        var inner = context.Features.Get<IHttpResponseBodyFeature>()!;
        using var holder = new ResponseRewriting(inner, limit);
        context.Features.Set<IHttpResponseBodyFeature>(holder);
        try
        {
            await forward();
            if (holder._writer is { } writer)
            {
                await writer.FlushAsync(context.RequestAborted);
            }
        }
        finally
        {
            context.Features.Set(inner);
        }

        if (holder.Streaming)
        {
            return;
        }

        var response = context.Response;
        var held = holder._buffer.AsSpan(0, holder._count);
        byte[]? rewritten = null;
        if (!response.Headers.ContainsKey("Content-Encoding"))
        {
            try
            {
                rewritten = rewriter.Rewrite(response.StatusCode, response.ContentType, held);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                onRewriterFault(ex);
            }
        }

        if (rewritten is null && holder._count == 0)
        {
            return;
        }

        response.Headers.Remove("Transfer-Encoding");
        if (rewritten is not null)
        {
            response.ContentLength = rewritten.Length;
            await inner.Stream.WriteAsync(rewritten, context.RequestAborted);
        }
        else
        {
            await inner.Stream.WriteAsync(holder._buffer.AsMemory(0, holder._count), context.RequestAborted);
        }
    }

    Stream IHttpResponseBodyFeature.Stream => this;

    PipeWriter IHttpResponseBodyFeature.Writer => _writer ??= PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));

    void IHttpResponseBodyFeature.DisableBuffering()
    {
    }

    Task IHttpResponseBodyFeature.StartAsync(CancellationToken cancellationToken) =>
        Streaming ? _inner.StartAsync(cancellationToken) : Task.CompletedTask;

    Task IHttpResponseBodyFeature.SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken) =>
        SendFileFallback.SendFileAsync(this, path, offset, count, cancellationToken);

    async Task IHttpResponseBodyFeature.CompleteAsync()
    {
        if (_writer is { } writer)
        {
            await writer.FlushAsync();
        }

        if (Streaming)
        {
            await _inner.CompleteAsync();
        }
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
        if (Streaming)
        {
            _inner.Stream.Flush();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        Streaming ? _inner.Stream.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Streaming)
        {
            await _inner.Stream.WriteAsync(buffer, cancellationToken);
            return;
        }

        if (_count + (long)buffer.Length > _limit)
        {
            // Too large to hold: send what was held, then stream the rest unchanged.
            Streaming = true;
            await _inner.Stream.WriteAsync(_buffer.AsMemory(0, _count), cancellationToken);
            await _inner.Stream.WriteAsync(buffer, cancellationToken);
            return;
        }

        if (_count + buffer.Length > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max((long)_buffer.Length * 2, _count + buffer.Length), _limit));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, _count);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        buffer.Span.CopyTo(_buffer.AsSpan(_count));
        _count += buffer.Length;
    }

    protected override void Dispose(bool disposing)
    {
        var b = _buffer;
        _buffer = Array.Empty<byte>();
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }

        base.Dispose(disposing);
    }
}
