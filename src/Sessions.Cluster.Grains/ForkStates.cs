using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Grains;

/// <summary>
/// A fork's persisted seed (grain state <see cref="StateName"/> of the fork's <see cref="SessionGrain"/>): Core's
/// <see cref="ForkSeed"/> as the silo's grain storage serializer stores it. It exists from the fork call until the
/// fork's transcript is written.
/// </summary>
[GenerateSerializer]
public sealed class ForkSeedState
{
    /// <summary>The grain state name (files and blobs of this state start with it).</summary>
    public const string StateName = "forkseed";

    /// <summary>See <see cref="ForkSeed.ParentSessionId"/>.</summary>
    [Id(0)]
    public string ParentSessionId { get; set; } = "";

    /// <summary>See <see cref="ForkSeed.ParentLength"/> (bytes).</summary>
    [Id(1)]
    public long ParentLength { get; set; }

    /// <summary>See <see cref="ForkSeed.UpToMessageId"/>.</summary>
    [Id(2)]
    public string? UpToMessageId { get; set; }

    /// <summary>See <see cref="ForkSeed.Title"/>.</summary>
    [Id(3)]
    public string? Title { get; set; }

    /// <summary>See <see cref="ForkSeed.ParentTitle"/>.</summary>
    [Id(4)]
    public string? ParentTitle { get; set; }

    /// <summary>See <see cref="ForkSeed.ForkTime"/> (epoch ms).</summary>
    [Id(5)]
    public long ForkTime { get; set; }

    /// <summary>As Core's seed.</summary>
    public ForkSeed ToSeed() => new(ParentSessionId, ParentLength, UpToMessageId, Title, ParentTitle, ForkTime);

    /// <summary>From Core's seed.</summary>
    public static ForkSeedState From(ForkSeed seed)
    {
        ArgumentNullException.ThrowIfNull(seed);
        return new()
        {
            ParentSessionId = seed.ParentSessionId, ParentLength = seed.ParentLength, UpToMessageId = seed.UpToMessageId,
            Title = seed.Title, ParentTitle = seed.ParentTitle, ForkTime = seed.ForkTime,
        };
    }
}

/// <summary>
/// A parent's forks whose transcripts may not be written yet (grain state <see cref="StateName"/> of the parent's
/// <see cref="SessionGrain"/>): a parent finishes them before it is deleted or purged, since their seeds read its bytes.
/// </summary>
[GenerateSerializer]
public sealed class UnfinishedForksState
{
    /// <summary>The grain state name.</summary>
    public const string StateName = "unfinishedforks";

    /// <summary>The forks' session ids (same tenant and project key as the parent).</summary>
    [Id(0)]
    public List<string> ForkIds { get; set; } = [];
}
