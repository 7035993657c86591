namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>Options of the file-system transcript store.</summary>
public sealed class FileSystemTranscriptStoreOptions
{
    /// <summary>Default data folder, relative to the working directory.</summary>
    public const string DefaultRoot = ".data/transcripts";

    /// <summary>Default number of logs whose state (committed length, uuid set) is kept in memory.</summary>
    public const int DefaultMaxCachedLogs = 2048;

    /// <summary>Folder that holds <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>.</summary>
    public string Root { get; set; } = DefaultRoot;

    /// <summary>When true (default) every append is flushed to disk (fsync) before it is acknowledged.</summary>
    public bool FlushToDisk { get; set; } = true;

    /// <summary>How many logs' state to cache; state is rebuilt from the file when evicted.</summary>
    public int MaxCachedLogs { get; set; } = DefaultMaxCachedLogs;
}
