namespace Sessions.Cluster.Server.Api;

/// <summary>Streams JSONL (one JSON value per line) as a JSON array without buffering it: line breaks become commas.</summary>
internal static class JsonlAsArray
{
    private static readonly byte[] Open = "["u8.ToArray();
    private static readonly byte[] Comma = ","u8.ToArray();
    private static readonly byte[] Close = "]"u8.ToArray();

    public static async Task CopyAsync(Stream jsonl, Stream output, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        await output.WriteAsync(Open, cancellationToken).ConfigureAwait(false);
        var atLineStart = true;
        var wroteAny = false;
        int read;
        while ((read = await jsonl.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var start = 0;
            while (start < read)
            {
                var nl = Array.IndexOf(buffer, (byte)'\n', start, read - start);
                var end = nl < 0 ? read : nl;
                if (end > start)
                {
                    if (atLineStart && wroteAny)
                    {
                        await output.WriteAsync(Comma, cancellationToken).ConfigureAwait(false);
                    }

                    await output.WriteAsync(buffer.AsMemory(start, end - start), cancellationToken).ConfigureAwait(false);
                    atLineStart = false;
                    wroteAny = true;
                }

                if (nl < 0)
                {
                    break;
                }

                atLineStart = true;
                start = nl + 1;
            }
        }

        await output.WriteAsync(Close, cancellationToken).ConfigureAwait(false);
    }
}
