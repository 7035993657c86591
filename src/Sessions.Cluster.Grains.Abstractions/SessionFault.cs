using Sessions.Cluster.Core;
using LimitExceededException = Sessions.Cluster.Core.LimitExceededException;

namespace Sessions.Cluster.Grains;

/// <summary>
/// A <see cref="SessionsException"/> raised inside a grain, in a form Orleans carries between silos with every field
/// kept (code, message, the conflict's expected/actual, a limit's status). The grain side converts with
/// <see cref="From"/>; the caller rethrows <see cref="ToException"/>, so the HTTP layer answers exactly as it would
/// for the same error raised in process.
/// </summary>
[GenerateSerializer]
public sealed class SessionFault : Exception
{
    /// <summary>Creates an empty fault (for the serializer).</summary>
    public SessionFault()
    {
    }

    /// <summary>Creates a fault with a message.</summary>
    public SessionFault(string message)
        : base(message)
    {
    }

    /// <summary>Creates a fault with a message and inner exception.</summary>
    public SessionFault(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The Core exception type's name (e.g. <c>ConflictException</c>).</summary>
    [Id(0)]
    public string Kind { get; init; } = "";

    /// <summary>The stable error code (<see cref="SessionsException.Code"/>).</summary>
    [Id(1)]
    public string Code { get; init; } = "";

    /// <summary>The error's message.</summary>
    [Id(2)]
    public string Detail { get; init; } = "";

    /// <summary>Conflict: expected; invalid key: the part.</summary>
    [Id(3)]
    public string? First { get; init; }

    /// <summary>Conflict: actual; invalid key: the reason.</summary>
    [Id(4)]
    public string? Second { get; init; }

    /// <summary>Limit: the HTTP status; invalid entry: the entry's index (or -1).</summary>
    [Id(5)]
    public long Number { get; init; }

    /// <summary>Limit: the limit.</summary>
    [Id(6)]
    public long Limit { get; init; }

    /// <summary>Limit: what is used, when known.</summary>
    [Id(7)]
    public long? Used { get; init; }

    /// <summary>Captures a Core exception.</summary>
    public static SessionFault From(SessionsException e) => e switch
    {
        ConflictException c => new SessionFault(c.Message) { Kind = nameof(ConflictException), Code = c.Code, Detail = c.Message, First = c.Expected, Second = c.Actual },
        LimitExceededException l => new SessionFault(l.Message) { Kind = nameof(LimitExceededException), Code = l.Code, Detail = l.Message, Number = l.Status, Limit = l.Limit, Used = l.Used },
        InvalidEntryException i => new SessionFault(i.Message) { Kind = nameof(InvalidEntryException), Code = i.Code, Detail = i.Message, Number = i.Index ?? -1 },
        InvalidKeyException k => new SessionFault(k.Message) { Kind = nameof(InvalidKeyException), Code = k.Code, Detail = k.Message, First = k.Part, Second = k.Reason },
        _ => new SessionFault(e.Message) { Kind = e.GetType().Name, Code = e.Code, Detail = e.Message },
    };

    /// <summary>The Core exception this fault carries, as it was raised.</summary>
    public SessionsException ToException() => Kind switch
    {
        nameof(ConflictException) => new ConflictException(Code, Detail, First ?? "", Second ?? ""),
        nameof(LimitExceededException) => new LimitExceededException(Code, Detail, (int)Number, Limit, Used),
        nameof(InvalidEntryException) => new InvalidEntryException(Detail, Number >= 0 ? (int)Number : null),
        nameof(InvalidKeyException) => new InvalidKeyException(First ?? "key", Second ?? Detail),
        nameof(NotFoundException) => new NotFoundException(Code, Detail),
        nameof(ForbiddenException) => new ForbiddenException(Code, Detail),
        nameof(StorageUnavailableException) => new StorageUnavailableException(Detail),
        _ => new InvalidRequestException(Code, Detail),
    };
}
