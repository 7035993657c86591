using Npgsql;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Catalog.PostgreSql;

/// <summary>The writes of rows held back by the silos (<see cref="WriteBehindCatalog"/>): many rows in one transaction, and the notes of who holds which.</summary>
public sealed partial class PostgresSessionCatalog : IRowWriterMarks
{
    /// <inheritdoc />
    /// <remarks>All in one transaction (one round trip); a row older than the stored one changes nothing.</remarks>
    public async Task UpsertManyAsync(IReadOnlyList<SessionRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var group in records.GroupBy(r => r.Tenant, StringComparer.Ordinal))
        {
            batch.BatchCommands.Add(ScopeCommand(group.Key));
            foreach (var record in group)
            {
                batch.BatchCommands.Add(UpsertCommand(record));
            }
        }

        await ExecuteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task UpsertMarkedAsync(SessionRecord record, string writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(writer);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(ScopeCommand(record.Tenant));
        batch.BatchCommands.Add(UpsertCommand(record));
        var mark = new NpgsqlBatchCommand("INSERT INTO row_writers (tenant, project_key, session_id, writer, since) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING");
        foreach (var v in new object[] { record.Tenant, record.ProjectKey, record.SessionId, writer, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() })
        {
            mark.Parameters.Add(new NpgsqlParameter { Value = v });
        }

        batch.BatchCommands.Add(mark);
        await ExecuteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task ClearMarkAsync(string tenant, string projectKey, string sessionId, string writer, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "DELETE FROM row_writers WHERE tenant = $1 AND project_key = $2 AND session_id = $3 AND writer = $4", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId, writer);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RowWriterMark>> ListMarksAsync(int limit, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync("*", "SELECT tenant, project_key, session_id, writer, since FROM row_writers ORDER BY since, tenant, project_key, session_id, writer LIMIT $1", cancellationToken).ConfigureAwait(false);
        Add(cmd, limit);
        var marks = new List<RowWriterMark>();
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                marks.Add(new RowWriterMark(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
            }
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }

        return marks;
    }
}
