using System.Diagnostics;
using System.Runtime.InteropServices;
using FASTER.core;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// Issue 25's evaluation of a write-ahead journal for the embedded silo: how many durable commits a second one
/// writer and 16 writers get (each writer waits for its entry to be durable before the next, as an acknowledged append
/// does) from Microsoft.FASTER.Core's <c>FasterLog</c> (preallocated device, fast-commit mode, per-entry checksums;
/// commits by <c>AutoCommit</c>, and by each writer's own <c>CommitAsync</c>, which FasterLog groups), from one shared
/// preallocated file that a single loop writes and <c>fdatasync</c>s for every writer queued meanwhile (group commit),
/// and, as the floor, each writer <c>fdatasync</c>ing its own preallocated file. Entries of 1,200 bytes (three
/// 400-byte transcript lines); 3 s a measure, 3 rounds.
/// </summary>
internal sealed class JournalCommit(Driver driver)
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(3);
    private readonly byte[] _entry = Enumerable.Range(0, 1200).Select(i => (byte)('a' + (i % 26))).ToArray();

    public async Task RunAsync()
    {
        var dir = RepoPaths.TempDir("journal");
        foreach (var writers in new[] { 1, 16 })
        {
            var results = new Dictionary<string, List<double>>();
            for (var round = 0; round < 3; round++)
            {
                Add(results, "floor", await FloorAsync(dir, writers, _entry));
                Add(results, "group", await GroupCommitAsync(dir, writers));
                Add(results, "faster-auto", await FasterAsync(dir, writers, autoCommit: true));
                Add(results, "faster-commit", await FasterAsync(dir, writers, autoCommit: false));
            }

            var floor = Stats.Median(results["floor"]);
            foreach (var (name, label) in new[] { ("group", "one shared file, group commit (a loop writes and fdatasyncs what is queued)"), ("faster-auto", "FasterLog, AutoCommit"), ("faster-commit", "FasterLog, each writer's CommitAsync") })
            {
                var rates = results[name];
                driver.Add($"durable commits/s, {writers} writer(s): {label}", $"{Stats.Median(rates):N0}/s (rounds {rates.Min():N0}–{rates.Max():N0})",
                    $"fdatasync of a preallocated file per writer {floor:N0}/s (rounds {results["floor"].Min():N0}–{results["floor"].Max():N0})", Stats.Median(rates) / floor, "–", null);
            }
        }
    }

    private static void Add(Dictionary<string, List<double>> results, string name, double rate)
    {
        if (!results.TryGetValue(name, out var list))
        {
            results[name] = list = [];
        }

        list.Add(rate);
    }

    private static string Fresh(string dir)
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        return dir;
    }

    private async Task<double> FasterAsync(string dir, int writers, bool autoCommit)
    {
        Fresh(dir);
        using var device = Devices.CreateLogDevice(Path.Combine(dir, "journal.log"), preallocateFile: true, capacity: 1L << 28);
        using var log = new FasterLog(new FasterLogSettings
        {
            LogDevice = device, LogCommitDir = dir, PageSizeBits = 20, MemorySizeBits = 22, SegmentSizeBits = 28,
            AutoCommit = autoCommit, FastCommitMode = true, LogChecksum = LogChecksumType.PerEntry,
        });
        return await CountAsync(writers, async writer =>
        {
            if (autoCommit)
            {
                await log.EnqueueAndWaitForCommitAsync(_entry);
            }
            else
            {
                log.Enqueue(_entry);
                await log.CommitAsync();
            }
        });
    }

    /// <summary>The floor: durable writes per second of <paramref name="writers"/> writers, each writing <paramref name="entry"/> to its own preallocated file and <c>fdatasync</c>ing it, one at a time, for 3 s.</summary>
    internal static async Task<double> FloorAsync(string dir, int writers, byte[] entry)
    {
        Fresh(dir);
        var files = Enumerable.Range(0, writers).Select(w => Preallocated(Path.Combine(dir, $"w{w}"))).ToArray();
        var offsets = new long[writers];
        try
        {
            return await CountAsync(writers, w =>
            {
                RandomAccess.Write(files[w].SafeFileHandle, entry, offsets[w]);
                offsets[w] += entry.Length;
                DataSync(files[w]);
                return Task.CompletedTask;
            });
        }
        finally
        {
            foreach (var f in files)
            {
                f.Dispose();
            }
        }
    }

    private async Task<double> GroupCommitAsync(string dir, int writers)
    {
        Fresh(dir);
        using var file = Preallocated(Path.Combine(dir, "journal"));
        var gate = new object();
        var queued = new List<(byte[] Bytes, TaskCompletionSource Durable)>();
        var busy = false;
        long at = 0;

        void Drain()
        {
            while (true)
            {
                List<(byte[] Bytes, TaskCompletionSource Durable)> batch;
                lock (gate)
                {
                    if (queued.Count == 0)
                    {
                        busy = false;
                        return;
                    }

                    (batch, queued) = (queued, []);
                }

                foreach (var (bytes, _) in batch)
                {
                    RandomAccess.Write(file.SafeFileHandle, bytes, at);
                    at += bytes.Length;
                }

                DataSync(file);
                foreach (var (_, durable) in batch)
                {
                    durable.SetResult();
                }
            }
        }

        return await CountAsync(writers, async writer =>
        {
            var durable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            bool drain;
            lock (gate)
            {
                queued.Add((_entry, durable));
                drain = !busy;
                busy = true;
            }

            if (drain)
            {
                _ = Task.Run(Drain);
            }

            await durable.Task;
        });
    }

    // Commits per second: `writers` loops (given their index) each committing one entry at a time for the window.
    private static async Task<double> CountAsync(int writers, Func<int, Task> commit)
    {
        var done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            while (clock.Elapsed < Window)
            {
                await commit(w);
                Interlocked.Increment(ref done);
            }
        })));
        return done / clock.Elapsed.TotalSeconds;
    }

    private static FileStream Preallocated(string path)
    {
        var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1);
        file.SetLength(1L << 28);
        file.Flush(flushToDisk: true);
        return file;
    }

    private static void DataSync(FileStream file)
    {
        if (Native.FDataSync((int)file.SafeFileHandle.DangerousGetHandle()) != 0)
        {
            throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static class Native
    {
        [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
        internal static extern int FDataSync(int fd);
    }
}
