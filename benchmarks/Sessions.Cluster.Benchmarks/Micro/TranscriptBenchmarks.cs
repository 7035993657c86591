using System.Text;
using BenchmarkDotNet.Attributes;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.Micro;

/// <summary>
/// The in-process paths on the 3 MB real transcript: info from head/tail, message chain, fork, and the models and token
/// totals a grain folds over what each append writes (<see cref="Core.Storage.SessionUsage"/>: here over all of it at once).
/// </summary>
[MemoryDiagnoser]
public class TranscriptBenchmarks
{
    private byte[] _bytes = [];
    private List<System.Text.Json.Nodes.JsonObject> _entries = [];
    private string _head = "";
    private string _tail = "";

    [GlobalSetup]
    public void Setup()
    {
        _bytes = File.ReadAllBytes(Path.Combine(RepoPaths.ClaudeFixtures, "projects", "-home-USER-projects-spotter-worktrees-spotter-dov", "4d5611e5-241a-462a-8d15-5122611a9569.jsonl"));
        _entries = TranscriptText.ParseObjects(_bytes);
        _head = Encoding.UTF8.GetString(_bytes.AsSpan(0, SessionInfoReader.WindowBytes));
        _tail = Encoding.UTF8.GetString(_bytes.AsSpan(_bytes.Length - SessionInfoReader.WindowBytes));
    }

    [Benchmark]
    public object? Info() => SessionInfoReader.Read("s", _head, _tail, 0, _bytes.Length);

    [Benchmark]
    public int Parse() => TranscriptText.ParseObjects(_bytes).Count;

    [Benchmark]
    public int Messages() => SessionMessages.Build(_entries, false, 0, null).Count;

    [Benchmark]
    public int Usage()
    {
        var usage = new Core.Storage.SessionUsage();
        usage.AddLines(_bytes);
        return usage.Messages;
    }

    [Benchmark]
    public int Fork() => ForkBuilder.Build(_entries, "s", "f", null, null, "t", DateTimeOffset.UnixEpoch, () => Guid.NewGuid().ToString()).Count;
}
