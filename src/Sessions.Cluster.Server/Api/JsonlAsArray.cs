using System.Buffers;
using System.IO.Pipelines;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Streams JSONL (one JSON value per line) as a JSON array without buffering it: line breaks become commas, blank
/// lines are dropped. Lines are copied into the response pipe and flushed once per chunk read, not once per line.
/// </summary>
internal static class JsonlAsArray
{
    private const int ChunkBytes = 128 * 1024;

    public static async Task CopyAsync(Stream jsonl, PipeWriter output, CancellationToken cancellationToken)
    {
        var buffer = new byte[ChunkBytes];
        output.Write("["u8);
        var atLineStart = true;
        var wroteAny = false;
        int read;
        while ((read = await jsonl.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var chunk = buffer.AsSpan(0, read);
            while (!chunk.IsEmpty)
            {
                var nl = chunk.IndexOf((byte)'\n');
                var line = nl < 0 ? chunk : chunk[..nl];
                if (!line.IsEmpty)
                {
                    if (atLineStart && wroteAny)
                    {
                        output.Write(","u8);
                    }

                    output.Write(line);
                    atLineStart = false;
                    wroteAny = true;
                }

                if (nl < 0)
                {
                    break;
                }

                atLineStart = true;
                chunk = chunk[(nl + 1)..];
            }

            var flushed = await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                return;
            }
        }

        output.Write("]"u8);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
