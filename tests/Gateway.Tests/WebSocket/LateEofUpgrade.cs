using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Tests.WebSocket;

/// <summary>
/// Makes the end-to-end race of a vanishing client deterministic: Kestrel signals RequestAborted at once, but the
/// upgraded stream's read surfaces the end (0 or an error) only <see cref="Delay"/> later, as when the read's
/// continuation waits for a busy thread pool. On a loaded 2-core machine that order happened in 2 runs of 3.
/// </summary>
internal static class LateEofUpgrade
{
    public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(300);

    public static void Install(WebApplicationBuilder builder) => builder.Services.AddTransient<IStartupFilter, Filter>();

    private sealed class Filter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } inner)
                {
                    context.Features.Set<IHttpUpgradeFeature>(new Feature(inner));
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class Feature(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync() => new LateEofStream(await inner.UpgradeAsync());
    }

    private sealed class LateEofStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n;
            try
            {
                // Not the caller's token: the end must surface late even when the caller's token fires at once.
                n = await inner.ReadAsync(buffer, CancellationToken.None);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                await Task.Delay(Delay, CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
                throw;
            }

            if (n == 0 && buffer.Length > 0)
            {
                await Task.Delay(Delay, CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
            }

            return n;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
