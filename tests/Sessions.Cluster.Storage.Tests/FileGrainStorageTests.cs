using System.Text.Json;
using Orleans.Storage;
using Sessions.Cluster.Storage.FileSystem;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>The embedded silo's durable grain state: real files, ETag-checked like the Azure provider.</summary>
[Trait("Category", "Unit")]
public sealed class FileGrainStorageTests
{
    private readonly string _root = RepoPaths.TempDir("grain-state");

    [Fact]
    public async Task WritesReadBack_AcrossInstances_AndAStaleETagIsRefused()
    {
        var id = GrainId.Create("sessiongrain", "acme/proj/s1");
        var first = new FileGrainStorage(_root, new JsonSerializerForTests(), flushToDisk: true);
        var state = new GrainState<Seed> { State = new Seed { ParentLength = 42, Title = "t" } };
        await first.WriteStateAsync("fork", id, state);
        Assert.Equal("1", state.ETag);

        // A new process (a restart) reads what was written.
        var read = new GrainState<Seed>();
        await new FileGrainStorage(_root, new JsonSerializerForTests(), flushToDisk: true).ReadStateAsync("fork", id, read);
        Assert.True(read.RecordExists);
        Assert.Equal((42L, "t", "1"), (read.State!.ParentLength, read.State.Title, read.ETag));

        // A second writer that read before the first wrote again is refused.
        await first.WriteStateAsync("fork", id, state);
        var stale = await Assert.ThrowsAsync<InconsistentStateException>(() => first.WriteStateAsync("fork", id, read));
        Assert.Equal(("2", "1"), (stale.StoredEtag, stale.CurrentEtag));
        await Assert.ThrowsAsync<InconsistentStateException>(() => first.WriteStateAsync("fork", id, new GrainState<Seed> { State = new Seed() }));

        await first.ClearStateAsync("fork", id, state);
        var cleared = new GrainState<Seed>();
        await first.ReadStateAsync("fork", id, cleared);
        Assert.False(cleared.RecordExists);
        Assert.Null(cleared.ETag);
        Assert.Empty(Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task KeysAreEscaped_AndDotSegmentsRefused()
    {
        var storage = new FileGrainStorage(_root, new JsonSerializerForTests(), flushToDisk: false);
        await storage.WriteStateAsync("fork", GrainId.Create("sessiongrain", "a b/%2e%2e/ü"), new GrainState<Seed> { State = new Seed() });
        var file = Assert.Single(Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories));
        Assert.StartsWith(Path.GetFullPath(_root), Path.GetFullPath(file), StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => storage.WriteStateAsync("fork", GrainId.Create("sessiongrain", "t/../../etc"), new GrainState<Seed> { State = new Seed() }));
    }

    public sealed class Seed
    {
        public long ParentLength { get; set; }

        public string? Title { get; set; }
    }

    private sealed class JsonSerializerForTests : IGrainStorageSerializer
    {
        public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input));

        public T? Deserialize<T>(BinaryData input) => JsonSerializer.Deserialize<T>(input.ToMemory().Span);
    }
}
