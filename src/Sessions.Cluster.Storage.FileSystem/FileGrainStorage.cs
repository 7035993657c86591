using System.Buffers.Binary;
using Orleans.Storage;

namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>
/// Durable grain state in a folder, for the embedded silo (Orleans ships no local durable provider: only Memory,
/// ADO.NET, Azure and Redis). One file per grain and state name, <c>{root}/{stateName}/{grain type}/{key segments}.state</c>
/// (each segment escaped; <c>..</c> refused), holding an 8-byte version (the ETag) and the state as the silo's
/// <see cref="IGrainStorageSerializer"/> writes it. Writes are checked like the Azure provider's (the caller's ETag must
/// be the stored one, else <see cref="InconsistentStateException"/>), go to a temporary file that is flushed and then
/// renamed over the old one, so a crash leaves the old state or the new one, never a torn one. One process owns the
/// folder (the embedded server), so writers of one file are ordered by an in-process lock (one of a fixed set of
/// stripes, so the locks stay bounded however many grains write); readers take none, since a file is only ever
/// replaced whole by a rename. Every session grain reads its fork seed once per activation, so a missing state is
/// answered from a stat, without an exception. Registered by <see cref="FileGrainStorageRegistration.AddFileGrainStorageAsDefault"/>.
/// </summary>
internal sealed class FileGrainStorage(string root, IGrainStorageSerializer serializer, bool flushToDisk) : IGrainStorage
{
    private const string Extension = ".state";
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (await ReadAsync(PathOf(stateName, grainId)).ConfigureAwait(false) is not { } stored)
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        grainState.State = serializer.Deserialize<T>(new BinaryData(stored.Payload));
        grainState.ETag = stored.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        return UnderLockAsync(PathOf(stateName, grainId), async path =>
        {
            var current = await ReadAsync(path).ConfigureAwait(false);
            Check(grainState.ETag, current?.Version, stateName, grainId);
            var version = (current?.Version ?? 0) + 1;
            var payload = serializer.Serialize(grainState.State).ToMemory();
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                var header = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(header, version);
                await file.WriteAsync(header).ConfigureAwait(false);
                await file.WriteAsync(payload).ConfigureAwait(false);
                if (flushToDisk)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            File.Move(temporary, path, overwrite: true);
            grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        });
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        return UnderLockAsync(PathOf(stateName, grainId), async path =>
        {
            var current = await ReadAsync(path).ConfigureAwait(false);
            Check(grainState.ETag, current?.Version, stateName, grainId);
            File.Delete(path);
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        });
    }

    // One writer of a file at a time (this process owns the folder).
    private async Task UnderLockAsync(string path, Func<string, Task> action)
    {
        var gate = _stripes[(uint)StringComparer.Ordinal.GetHashCode(path) % (uint)_stripes.Length];
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await action(path).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    // The caller's ETag must name the stored version (null: nothing stored).
    private static void Check(string? etag, long? stored, string stateName, GrainId grainId)
    {
        var storedTag = stored?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!string.Equals(etag, storedTag, StringComparison.Ordinal))
        {
            throw new InconsistentStateException($"The {stateName} state of {grainId} changed since it was read (version {etag ?? "none"} expected, {storedTag ?? "none"} stored).", storedTag, etag);
        }
    }

    private static async Task<(long Version, byte[] Payload)?> ReadAsync(string path)
    {
        byte[] bytes;
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (bytes.Length < 8)
        {
            throw new InconsistentStateException($"The grain state file '{path}' is shorter than its header; it was not written by this provider.");
        }

        return (BinaryPrimitives.ReadInt64LittleEndian(bytes), bytes[8..]);
    }

    // {root}/{stateName}/{type}/{key segments}.state, every segment escaped so no key can leave its folder.
    private string PathOf(string stateName, GrainId grainId)
    {
        var segments = new[] { stateName, grainId.Type.ToString()! }.Concat(grainId.Key.ToString()!.Split('/'))
            .Select(s => s is "" or "." or ".." ? throw new ArgumentException($"Grain id '{grainId}' has an empty or dot segment.", nameof(grainId)) : Uri.EscapeDataString(s))
            .ToArray();
        segments[^1] += Extension;
        return Path.Combine([root, .. segments]);
    }
}
