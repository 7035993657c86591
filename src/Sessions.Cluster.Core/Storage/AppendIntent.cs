namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// The durable record of an append that carries an idempotency key and no entry with a <c>uuid</c>, made before its
/// bytes are written: the <paramref name="Bytes"/> bytes of the batch go at byte <paramref name="Offset"/> of the log
/// <paramref name="Key"/>. A retry of that call that reaches another activation of the session (its silo died before
/// it answered) finds the record, finds those bytes standing at that offset and writes nothing. A batch that holds a
/// uuid needs no record: the log's uuids place it (<see cref="AppendPlan"/>).
/// </summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Key">The log: the main transcript or a subpath.</param>
/// <param name="IdempotencyKey">The call's <c>Idempotency-Key</c> (at most 200 characters).</param>
/// <param name="Offset">The byte offset the batch's first line is written at: the log's committed length before it.</param>
/// <param name="Bytes">The batch's length in bytes as written (each line and its newline).</param>
/// <param name="At">When the record was made, Unix epoch milliseconds; a record is kept one hour.</param>
public sealed record AppendIntent(string Tenant, SessionKey Key, string IdempotencyKey, long Offset, long Bytes, long At);
