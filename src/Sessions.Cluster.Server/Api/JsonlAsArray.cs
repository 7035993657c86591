using System.Buffers;
using System.IO.Pipelines;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Streams JSONL (one JSON value per line) as a JSON array without buffering it: line breaks become commas, blank
/// lines are dropped. Lines are copied into the response pipe and flushed once per chunk read, not once per line.
/// </summary>
/// <remarks>
/// The answer's length is known before the first byte (<see cref="LengthOf"/>), so the response carries a
/// Content-Length instead of chunked encoding: the array of n non-blank lines is never longer than the JSONL plus 2
/// bytes (each line's newline becomes a comma or the closing bracket), and the difference is made up with JSON
/// whitespace before the closing bracket.
/// </remarks>
internal static class JsonlAsArray
{
    private const int ChunkBytes = 128 * 1024;

    /// <summary>The length in bytes of the array written for <paramref name="jsonlLength"/> bytes of JSONL.</summary>
    public static long LengthOf(long jsonlLength) => jsonlLength + 2;

    /// <summary>Copies the JSONL as an array of exactly <see cref="LengthOf"/>(<paramref name="jsonlLength"/>) bytes.</summary>
    /// <exception cref="InvalidDataException">The stream held more than <paramref name="jsonlLength"/> bytes.</exception>
    public static async Task CopyAsync(Stream jsonl, PipeWriter output, long jsonlLength, CancellationToken cancellationToken)
    {
        var buffer = new byte[ChunkBytes];
        var target = LengthOf(jsonlLength);
        output.Write("["u8);
        long written = 1, seen = 0;
        var atLineStart = true;
        var wroteAny = false;
        int read;
        while ((read = await jsonl.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            seen += read;
            if (seen > jsonlLength)
            {
                throw new InvalidDataException($"The transcript grew past the {jsonlLength} bytes it was opened at.");
            }

            var chunk = buffer.AsSpan(0, read);
            while (!chunk.IsEmpty)
            {
                var nl = chunk.IndexOf((byte)'\n');
                var line = nl < 0 ? chunk : chunk[..nl];
                if (!line.Trim(" \t\r"u8).IsEmpty)
                {
                    if (atLineStart && wroteAny)
                    {
                        output.Write(","u8);
                        written++;
                    }

                    output.Write(line);
                    written += line.Length;
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

        // Pad with spaces (JSON whitespace) so the answer is exactly the announced length.
        for (var pad = target - written - 1; pad > 0;)
        {
            var n = (int)Math.Min(pad, 4096);
            output.GetSpan(n)[..n].Fill((byte)' ');
            output.Advance(n);
            pad -= n;
        }

        output.Write("]"u8);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
