namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>Options of <see cref="FileGrainStorage"/>, the embedded silo's grain state in a folder.</summary>
public sealed class FileGrainStorageOptions
{
    /// <summary>The folder that holds one file per grain and state name (created when needed). Required.</summary>
    public string Root { get; set; } = "";

    /// <summary>When true (the default), each write is flushed to the disk before it is renamed into place and answers.</summary>
    public bool FlushToDisk { get; set; } = true;
}
