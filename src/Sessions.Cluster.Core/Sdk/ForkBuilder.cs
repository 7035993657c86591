using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// Builds the entries of a fork, mirroring the SDK's <c>forkSession</c> (0.3.337): the fork opens with the parent's
/// recorded API request routes (or one "unrecorded" route); sidechains and progress lines are dropped,
/// every message gets a fresh uuid with <c>parentUuid</c>/<c>logicalParentUuid</c> remapped (a parent that was a
/// progress line resolves to its nearest non-progress ancestor), each entry records
/// <c>forkedFrom {sessionId, messageUuid}</c>, file-history snapshots are not copied, the last entry is stamped with
/// the fork time, and a <c>custom-title</c> entry <c>"&lt;title&gt; (fork)"</c> closes the transcript. With
/// <c>upToMessageId</c> the slice ends at that message under the SDK's compaction rules.
/// </summary>
public static class ForkBuilder
{
    private const string RequestRouteType = "api-request-route";

    private static readonly HashSet<string> RouteProviders = ["anthropic", "customEndpoint", "bedrock", "vertex", "foundry", "anthropicAws", "mantle", "gateway"];

    private static readonly HashSet<string> RouteCredentials = ["login", "key", "token", "cloud", "gateway", "none"];

    // The SDK's r1: a recorded route with unknown provider or credential kinds kept as "other".
    private static (string Provider, string Credential)? RequestRoute(JsonObject e)
    {
        if (JsText.Str(e, "provider") is not { } provider || JsText.Str(e, "credential") is not { } credential)
        {
            return null;
        }

        return provider == "unrecorded" && credential == "unrecorded"
            ? (provider, credential)
            : (RouteProviders.Contains(provider) ? provider : "other", RouteCredentials.Contains(credential) ? credential : "other");
    }

    // The SDK's Wj: fields reset on every forked entry (null = removed).
    private static readonly string[] ClearedFields =
        ["teamName", "agentName", "sessionKind", "slug", "sourceToolAssistantUUID", "summarizedTurnPromptUuids", "droppedPromptUuids", "sentAsUuid", "rowsAheadOfPutBack", "turnAttributionKey"];

    /// <summary>
    /// The top-level properties <see cref="Build"/> may set on an entry it forks (besides removing
    /// <c>ClearedFields</c>); every other property keeps the parent's value (<see cref="ForkLines"/> copies its bytes).
    /// </summary>
    internal static readonly System.Collections.Frozen.FrozenSet<string> EditedFields = System.Collections.Frozen.FrozenSet.ToFrozenSet(
        ["uuid", "parentUuid", "logicalParentUuid", "sessionId", "timestamp", "isSidechain", "requestSessionId", "forkedFrom", "neutralizedByFork", "attachment", "compactMetadata"],
        StringComparer.Ordinal);

    /// <summary>Builds the fork of a transcript.</summary>
    /// <param name="entries">All parsed lines of the parent transcript, in file order (read at one consistent length).</param>
    /// <param name="parentSessionId">The parent's session id (goes into <c>forkedFrom</c>).</param>
    /// <param name="newSessionId">The fork's session id.</param>
    /// <param name="upToMessageId">Inclusive end of the slice, or null for a full copy.</param>
    /// <param name="title">Title of the fork, or null to derive <c>"&lt;parent title&gt; (fork)"</c>.</param>
    /// <param name="parentTitle">The parent's title (custom title, else first prompt), used when <paramref name="title"/> is null.</param>
    /// <param name="now">Fork time.</param>
    /// <param name="newUuid">Source of fresh uuids.</param>
    /// <param name="reuseEntries">
    /// Build the fork's entries by changing <paramref name="entries"/> in place instead of deep copies (much faster on
    /// large transcripts); only for a caller that owns the entries and drops them afterwards.
    /// </param>
    /// <returns>The fork's entries, ready to append.</returns>
    /// <exception cref="NotFoundException"><paramref name="upToMessageId"/> is not in the transcript (code <c>message_not_found</c>).</exception>
    /// <exception cref="InvalidRequestException">The transcript has no messages to fork (code <c>nothing_to_fork</c>).</exception>
    public static List<JsonObject> Build(
        IReadOnlyList<JsonObject> entries, string parentSessionId, string newSessionId, string? upToMessageId, string? title, string? parentTitle, DateTimeOffset now, Func<string> newUuid,
        bool reuseEntries = false)
    {
        string? relocatedCwd = null;
        var contentReplacements = new JsonArray();
        var requestRoutes = new Dictionary<string, (string Provider, string Credential)>(StringComparer.Ordinal);
        var routeOrder = new List<string>();
        var transcript = new List<ChainEntry>();
        foreach (var e in entries)
        {
            if (ChainEntry.From(e) is { } c)
            {
                transcript.Add(c);
                continue;
            }

            var type = JsText.Str(e, "type");
            if (type == "content-replacement" && JsText.Str(e, "sessionId") == parentSessionId && e["replacements"] is JsonArray reps)
            {
                foreach (var r in reps.OfType<JsonObject>())
                {
                    contentReplacements.Add(r.DeepClone());
                }
            }
            else if (type == "relocated" && JsText.Str(e, "sessionId") == parentSessionId && JsText.Str(e, "relocatedCwd") is { Length: > 0 } cwd)
            {
                relocatedCwd = cwd;
            }
            else if (type == RequestRouteType && RequestRoute(e) is { } route && requestRoutes.TryAdd($"{route.Provider}:{route.Credential}", route))
            {
                routeOrder.Add($"{route.Provider}:{route.Credential}");
            }
        }

        var o = transcript.Where(x => !x.IsSidechain).ToList();
        if (o.Count == 0)
        {
            throw new InvalidRequestException("nothing_to_fork", $"Session {parentSessionId} has no messages to fork.");
        }

        if (!string.IsNullOrEmpty(upToMessageId))
        {
            o = Slice(o, parentSessionId, upToMessageId);
        }

        var newIds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var g in o)
        {
            newIds[g.Uuid] = newUuid();
        }

        var kept = o.Where(g => g.Type != "progress").ToList();
        if (kept.Count == 0)
        {
            throw new InvalidRequestException("nothing_to_fork", $"Session {parentSessionId} has no messages to fork.");
        }

        var keptIds = kept.ToDictionary(g => g.Uuid, g => newIds[g.Uuid], StringComparer.Ordinal);
        var byUuid = new Dictionary<string, ChainEntry>(StringComparer.Ordinal);
        foreach (var g in o)
        {
            byUuid[g.Uuid] = g;
        }

        var stamp = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        // The SDK's fork (0.3.337) opens with the API request routes the parent recorded (provider and credential
        // kinds), or one "unrecorded" route.
        var result = new List<JsonObject>();
        foreach (var (provider, credential) in routeOrder.Count == 0 ? [("unrecorded", "unrecorded")] : routeOrder.Select(k => requestRoutes[k]))
        {
            result.Add(new JsonObject { ["type"] = RequestRouteType, ["provider"] = provider, ["credential"] = credential, ["sessionId"] = newSessionId });
        }

        for (var i = 0; i < kept.Count; i++)
        {
            var y = kept[i];
            string? parent = null;
            var e = y.ParentUuid;
            HashSet<string>? seen = null;
            while (!string.IsNullOrEmpty(e))
            {
                if (!byUuid.TryGetValue(e, out var p))
                {
                    break;
                }

                if (p.Type != "progress")
                {
                    parent = newIds.GetValueOrDefault(e);
                    break;
                }

                seen ??= new HashSet<string>(StringComparer.Ordinal);
                if (!seen.Add(p.Uuid))
                {
                    parent = newIds.GetValueOrDefault(p.Uuid);
                    break;
                }

                e = p.ParentUuid;
            }

            // Everything read from the source entry is read before it may be changed in place.
            var hasLogicalParent = y.Node.TryGetPropertyValue("logicalParentUuid", out var lp) && lp is not null;
            var logicalParent = hasLogicalParent ? JsText.Str(y.Node, "logicalParentUuid") : null;
            var hasTimestamp = y.Node.ContainsKey("timestamp");
            var requestSessionId = RequestSessionId(y.Node);
            var neutralize = y.Type == "system" && y.Subtype == "model_refusal_fallback";
            var node = reuseEntries ? y.Node : (JsonObject)y.Node.DeepClone();
            if (neutralize)
            {
                node["neutralizedByFork"] = true;
            }

            RemapDeferredTools(node, newIds);
            RemapCompactMetadata(node, keptIds);
            node["uuid"] = newIds[y.Uuid];
            node["parentUuid"] = parent;
            if (hasLogicalParent)
            {
                node["logicalParentUuid"] = logicalParent is not null && newIds.TryGetValue(logicalParent, out var mapped) ? mapped : null;
            }

            node["sessionId"] = newSessionId;
            if (i == kept.Count - 1)
            {
                node["timestamp"] = stamp;
            }
            else if (!hasTimestamp)
            {
                node.Remove("timestamp");
            }

            node["isSidechain"] = false;
            foreach (var f in ClearedFields)
            {
                node.Remove(f);
            }

            if (requestSessionId is null)
            {
                node.Remove("requestSessionId");
            }
            else
            {
                node["requestSessionId"] = requestSessionId;
            }

            node["forkedFrom"] = new JsonObject { ["sessionId"] = parentSessionId, ["messageUuid"] = y.Uuid };
            result.Add(node);
        }

        if (contentReplacements.Count > 0)
        {
            result.Add(new JsonObject { ["type"] = "content-replacement", ["sessionId"] = newSessionId, ["replacements"] = contentReplacements, ["uuid"] = newUuid(), ["timestamp"] = stamp });
        }

        if (relocatedCwd is not null)
        {
            result.Add(new JsonObject { ["type"] = "relocated", ["sessionId"] = newSessionId, ["relocatedCwd"] = relocatedCwd });
        }

        var forkTitle = JsText.JsTrim(title ?? "");
        if (forkTitle.Length == 0)
        {
            forkTitle = $"{(string.IsNullOrEmpty(parentTitle) ? "Forked session" : parentTitle)} (fork)";
        }

        result.Add(new JsonObject { ["type"] = "custom-title", ["sessionId"] = newSessionId, ["customTitle"] = forkTitle, ["uuid"] = newUuid(), ["timestamp"] = stamp });
        return result;
    }

    /// <summary>
    /// True when a fork of a transcript holding <paramref name="entry"/> is certain to succeed: the entry is a
    /// non-sidechain, non-progress message and, with <paramref name="upToMessageId"/>, is the message the SDK's
    /// lookup finds for it (its uuid, or the source of a queued command). Lets a fork be accepted before it is built.
    /// </summary>
    public static bool CertainToFork(JsonObject entry, string? upToMessageId)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return ChainEntry.From(entry) is { IsSidechain: false } c && c.Type != "progress"
            && (upToMessageId is null || c.Uuid == upToMessageId || QueuedSourceUuid(entry) == upToMessageId);
    }

    // The upToMessageId part of the SDK's Vj.
    private static List<ChainEntry> Slice(List<ChainEntry> o, string sessionId, string upTo)
    {
        var chain = ConversationGraph.Build(o).Chain;
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < o.Count; i++)
        {
            firstIndex.TryAdd(o[i].Uuid, i);
        }

        var maxIndex = -1;
        foreach (var c in chain)
        {
            maxIndex = Math.Max(maxIndex, firstIndex.GetValueOrDefault(c.Uuid, -1));
        }

        var h = chain.Concat(o.Skip(maxIndex + 1)).ToList();
        var at = FindMessage(h, upTo);
        var b = at >= 0 ? firstIndex.GetValueOrDefault(h[at].Uuid, -1) : FindMessage(o, upTo);
        if (b == -1)
        {
            throw new NotFoundException("message_not_found", $"Message {upTo} not found in session {sessionId}.");
        }

        var sliced = DropTrailingCompaction(o.Take(b + 1).ToList());
        sliced = ClearPreservedOnAnchor(o[b].Uuid, sliced);
        return LeaveOutDeadCompactions(sliced);
    }

    // The SDK's NT: index of the entry with that uuid, else of a queued command whose source_uuid is it.
    private static int FindMessage(List<ChainEntry> list, string id)
    {
        var i = list.FindIndex(r => r.Uuid == id);
        return i != -1 ? i : list.FindIndex(r => QueuedSourceUuid(r.Node) == id);
    }

    private static string? QueuedSourceUuid(JsonObject e) =>
        JsText.Str(e, "type") == "attachment" && e["attachment"] is JsonObject a && JsText.Str(a, "type") == "queued_command" && JsText.Str(a, "source_uuid") is { Length: > 0 } s ? s : null;

    private static JsonObject? Anchor(ChainEntry e)
    {
        if (e.Node["compactMetadata"] is not JsonObject cm)
        {
            return null;
        }

        var o = cm["preservedMessages"] as JsonObject ?? cm["preservedSegment"] as JsonObject;
        return o is not null && o.ContainsKey("anchorUuid") ? o : null;
    }

    private static string? AnchorUuid(ChainEntry e) => Anchor(e) is { } a ? JsText.Str(a, "anchorUuid") : null;

    // The SDK's qj: a boundary written by rewinding (durationMs 0, anchored on itself).
    private static bool IsRewindBoundary(ChainEntry e) =>
        e.Node["compactMetadata"] is JsonObject cm && cm["durationMs"] is JsonValue d && d.TryGetValue<double>(out var ms) && ms == 0 && AnchorUuid(e) == e.Uuid;

    private static bool IsCompaction(ChainEntry e) => e.IsCompactBoundary && !IsRewindBoundary(e);

    // The SDK's Yh: uuids a boundary preserved.
    private static List<string?> Preserved(ChainEntry e)
    {
        var result = new List<string?>();
        if (e.Node["compactMetadata"] is not JsonObject cm)
        {
            return result;
        }

        if (cm["preservedMessages"] is JsonObject pm)
        {
            result.AddRange(ChainEntry.StringsOf(pm["uuids"]));
        }

        if (cm["preservedSegment"] is JsonObject ps)
        {
            result.Add(JsText.Str(ps, "headUuid"));
            result.Add(JsText.Str(ps, "tailUuid"));
        }

        return result;
    }

    // The SDK's YUe: a slice that ends inside a compaction (boundary after the last message) ends before it.
    private static List<ChainEntry> DropTrailingCompaction(List<ChainEntry> e)
    {
        var t = e.FindLastIndex(p => p.IsUserOrAssistant);
        var n = -1;
        for (var k = t + 1; k < e.Count; k++)
        {
            if (IsCompaction(e[k]))
            {
                n = k;
                break;
            }
        }

        if (n < 0)
        {
            return e;
        }

        var r = e[n];
        var o = e.Take(n).ToList();
        var s = AnchorUuid(r) == r.Uuid ? [] : new HashSet<string?>(Preserved(r).Append(JsText.Str(r.Node, "logicalParentUuid")));
        var i = o.FindLastIndex(p => s.Contains(p.Uuid));
        var a = o.LastOrDefault(p => p.IsCompactBoundary);
        var l = i >= 0 && a is not null && !IsRewindBoundary(a) && Preserved(a).Contains(o[i].Uuid)
            ? o.FindLastIndex(p => p.Uuid == AnchorUuid(a))
            : -1;
        var c = Math.Max(i, l);
        var d = c < 0 ? o : o.Take(c + 1).ToList();
        return d.Any(p => p.Type != "progress") ? d : e;
    }

    // The SDK's ZUe: a compaction anchored on the fork point loses what it preserved.
    private static List<ChainEntry> ClearPreservedOnAnchor(string anchor, List<ChainEntry> t) =>
        t.Select(n =>
        {
            if (!IsCompaction(n) || AnchorUuid(n) != anchor || n.Node["compactMetadata"] is not JsonObject cm)
            {
                return n;
            }

            var node = (JsonObject)n.Node.DeepClone();
            var meta = (JsonObject)cm.DeepClone();
            meta.Remove("preservedMessages");
            meta.Remove("preservedSegment");
            meta.Remove("postTokens");
            node["compactMetadata"] = meta;
            return n with { Node = node };
        }).ToList();

    // The SDK's JUe: compaction boundaries (and what hangs off them) that the fork's live chain does not reach are left out.
    private static List<ChainEntry> LeaveOutDeadCompactions(List<ChainEntry> e)
    {
        if (e.Count == 0)
        {
            return e;
        }

        var t = e[^1];
        var cleared = e.Select(p => p with { ForkCleared = true }).ToList();
        var probe = new ChainEntry(new JsonObject { ["type"] = "system" }, Guid.NewGuid().ToString(), t.Uuid, "system");
        var r = ConversationGraph.Build([.. cleared, probe]).Chain;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var f = 0; f < e.Count; f++)
        {
            index.TryAdd(e[f].Uuid, f);
        }

        if (r.Count == 0 || !index.TryGetValue(r[0].Uuid, out var start))
        {
            return e;
        }

        var inChain = new HashSet<string>(r.Select(p => p.Uuid), StringComparer.Ordinal);
        var byUuid = new Dictionary<string, ChainEntry>(StringComparer.Ordinal);
        foreach (var p in e)
        {
            byUuid[p.Uuid] = p;
        }

        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in inChain.Prepend(t.Uuid))
        {
            for (var f = byUuid.GetValueOrDefault(id); f is not null && live.Add(f.Uuid); f = f.ParentUuid is { Length: > 0 } pu ? byUuid.GetValueOrDefault(pu) : null)
            {
            }
        }

        var leftOut = new HashSet<string>(StringComparer.Ordinal);
        bool Candidate(ChainEntry x) => !live.Contains(x.Uuid) && (index.TryGetValue(x.Uuid, out var ix) ? ix : start) >= start;
        void LeaveOut(ChainEntry x)
        {
            for (var s = byUuid.GetValueOrDefault(x.Uuid); s is not null && Candidate(s) && !leftOut.Contains(s.Uuid); s = s.ParentUuid is { Length: > 0 } pu ? byUuid.GetValueOrDefault(pu) : null)
            {
                leftOut.Add(s.Uuid);
            }

            foreach (var s in e)
            {
                if (s.ParentUuid is { Length: > 0 } pu && leftOut.Contains(pu))
                {
                    leftOut.Add(s.Uuid);
                }
            }
        }

        foreach (var p in e)
        {
            if (p.IsCompactBoundary && Candidate(p) && !Preserved(p).Any(f => f is not null && live.Contains(f)))
            {
                LeaveOut(p);
            }
        }

        while (true)
        {
            var found = ConversationGraph.Build(cleared.Where(m => !leftOut.Contains(m.Uuid)).ToList());
            if (found.Chain.Count == inChain.Count && found.Chain.All(m => inChain.Contains(m.Uuid)))
            {
                break;
            }

            if (found.Terminal is null || !Candidate(found.Terminal))
            {
                break;
            }

            LeaveOut(found.Terminal);
        }

        return leftOut.Count == 0 ? e : e.Where(p => !leftOut.Contains(p.Uuid)).ToList();
    }

    // The SDK's zj: which session served an assistant's request.
    private static string? RequestSessionId(JsonObject e)
    {
        if (JsText.Str(e, "type") != "assistant")
        {
            return null;
        }

        return JsText.Str(e, "requestSessionId")
            ?? (e["forkedFrom"] is JsonObject ff ? JsText.Str(ff, "sessionId") : null)
            ?? JsText.Str(e, "sessionId");
    }

    // The SDK's XUe.
    private static void RemapDeferredTools(JsonObject node, Dictionary<string, string> ids)
    {
        if (JsText.Str(node, "type") != "attachment" || node["attachment"] is not JsonObject a || JsText.Str(a, "type") != "deferred_tools_record" || a["nameOnlyAnnouncements"] is not JsonArray list)
        {
            return;
        }

        var mapped = new JsonArray();
        foreach (var s in ChainEntry.StringsOf(list))
        {
            if (s is not null && ids.TryGetValue(s, out var m))
            {
                mapped.Add(m);
            }
        }

        a["nameOnlyAnnouncements"] = mapped;
    }

    // The SDK's J$: uuids inside compactMetadata follow the fork's new ids (unknown ones stay).
    private static void RemapCompactMetadata(JsonObject node, Dictionary<string, string> ids)
    {
        if (JsText.Str(node, "type") != "system" || node["compactMetadata"] is not JsonObject cm)
        {
            return;
        }

        static void Remap(JsonObject? o, string[] fields, Dictionary<string, string> ids)
        {
            if (o is null)
            {
                return;
            }

            foreach (var f in fields)
            {
                if (!o.TryGetPropertyValue(f, out var v))
                {
                    continue;
                }

                if (v is JsonArray arr)
                {
                    o[f] = new JsonArray(arr.Select(x => x is JsonValue sv && sv.TryGetValue<string>(out var s) ? JsonValue.Create(ids.GetValueOrDefault(s, s)) : x?.DeepClone()).ToArray<JsonNode?>());
                }
                else if (v is JsonValue sv && sv.TryGetValue<string>(out var s))
                {
                    o[f] = ids.GetValueOrDefault(s, s);
                }
            }
        }

        Remap(cm["preservedMessages"] as JsonObject, ["anchorUuid", "uuids", "allUuids"], ids);
        Remap(cm["preservedSegment"] as JsonObject, ["headUuid", "anchorUuid", "tailUuid"], ids);
    }
}
