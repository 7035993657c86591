namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// Rebuilds the live conversation chain of a transcript exactly as the SDK does (its <c>$p</c> and <c>qMe</c>):
/// compaction boundaries with preserved messages or segments are relinked; the leaf is the latest (in file order)
/// terminal that reaches a user/assistant entry through non-sidechain, non-team, non-progress entries, else the
/// latest user/assistant reached from any terminal, preferring non-sidechain non-meta ones; the chain is the walk
/// up <c>parentUuid</c> (never <c>logicalParentUuid</c>) from it, with split parallel tool-use responses merged back.
/// </summary>
internal static class ConversationGraph
{
    /// <summary>Result of <see cref="Build"/>.</summary>
    /// <param name="Chain">The live chain, root first.</param>
    /// <param name="Leaf">The chosen leaf, null when the chain is empty.</param>
    /// <param name="Terminal">The terminal entry the leaf was reached from, when found by the first rule.</param>
    /// <param name="Relinked">Entries by uuid after compaction relinking, in first-seen order.</param>
    public sealed record Result(List<ChainEntry> Chain, ChainEntry? Leaf, ChainEntry? Terminal, OrderedMap Relinked);

    /// <summary>Builds the live chain of <paramref name="entries"/> (graph entries in file order).</summary>
    public static Result Build(IReadOnlyList<ChainEntry> entries)
    {
        var n = new OrderedMap();
        foreach (var e in entries)
        {
            n.Set(e.Uuid, e);
        }

        Relink(n);

        var lastIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            lastIndex[entries[i].Uuid] = i;
        }

        int IndexOf(ChainEntry e) => lastIndex.TryGetValue(e.Uuid, out var i) ? i : -1;

        var parents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var h in n.Values)
        {
            if (!string.IsNullOrEmpty(h.ParentUuid))
            {
                parents.Add(h.ParentUuid);
            }
        }

        var terminals = n.Values.Where(h => !parents.Contains(h.Uuid)).ToList();

        static bool OnMainLine(ChainEntry h) =>
            !h.IsSidechain && !h.HasTeam && h.Type != "progress" &&
            !(h.Type == "attachment" && h.Node["attachment"] is System.Text.Json.Nodes.JsonObject a && JsText.Str(a, "type") == "fork_briefing");

        var mainParents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var h in n.Values)
        {
            if (!string.IsNullOrEmpty(h.ParentUuid) && OnMainLine(h))
            {
                mainParents.Add(h.ParentUuid);
            }
        }

        var candidates = n.Values.Where(h => OnMainLine(h) && !mainParents.Contains(h.Uuid)).OrderByDescending(IndexOf).ToList();
        var dead = new HashSet<string>(StringComparer.Ordinal);
        ChainEntry? found = null, foundTerminal = null;
        foreach (var h in candidates)
        {
            var walked = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var c = h;
            while (c is not null && !dead.Contains(c.Uuid) && !seen.Contains(c.Uuid))
            {
                if (c.IsUserOrAssistant)
                {
                    found = c;
                    foundTerminal = h;
                    break;
                }

                seen.Add(c.Uuid);
                walked.Add(c.Uuid);
                c = Parent(n, c);
            }

            if (found is not null)
            {
                break;
            }

            dead.UnionWith(walked);
        }

        var leaf = found;
        if (leaf is null)
        {
            var reached = new List<ChainEntry>();
            foreach (var t in terminals)
            {
                var a = t;
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (a is not null)
                {
                    if (!seen.Add(a.Uuid))
                    {
                        break;
                    }

                    if (a.IsUserOrAssistant)
                    {
                        reached.Add(a);
                        break;
                    }

                    a = Parent(n, a);
                }
            }

            if (reached.Count == 0)
            {
                return new Result([], null, null, n);
            }

            var preferred = reached.Where(x => !x.IsSidechain && !x.HasTeam && !x.IsMeta).ToList();
            ChainEntry Latest(List<ChainEntry> list) => list.Aggregate((acc, x) => IndexOf(x) > IndexOf(acc) ? x : acc);
            leaf = preferred.Count > 0 ? Latest(preferred) : Latest(reached);
        }

        var chain = new List<ChainEntry>();
        var inChain = new HashSet<string>(StringComparer.Ordinal);
        var s = n.Get(leaf.Uuid);
        while (s is not null)
        {
            if (!inChain.Add(s.Uuid))
            {
                break;
            }

            chain.Add(s);
            s = Parent(n, s);
        }

        chain.Reverse();
        var terminal = ReferenceEquals(leaf, found) ? foundTerminal : null;
        return new Result(MergeSplitResponses(n, chain, inChain), leaf, terminal, n);
    }

    private static ChainEntry? Parent(OrderedMap n, ChainEntry e) => string.IsNullOrEmpty(e.ParentUuid) ? null : n.Get(e.ParentUuid);

    private static void Relink(OrderedMap n)
    {
        foreach (var key in n.Keys.ToList())
        {
            var h = n.Get(key)!;
            if (!h.IsCompactBoundary)
            {
                continue;
            }

            var preserved = h.CompactMetadata("preservedMessages");
            var segment = h.CompactMetadata("preservedSegment");
            if (preserved is not null)
            {
                var uuids = ChainEntry.StringsOf(preserved["uuids"]);
                if (uuids.Count == 0 || uuids.Any(w => w is null || !n.Contains(w)))
                {
                    continue;
                }

                var anchor = JsText.Str(preserved, "anchorUuid");
                var c = anchor;
                foreach (var w in uuids)
                {
                    n.Set(w!, n.Get(w!)! with { ParentUuid = c });
                    c = w;
                }

                var first = uuids[0];
                var last = uuids[^1];
                foreach (var k in n.Keys.ToList())
                {
                    var p = n.Get(k)!;
                    if (p.ParentUuid == anchor && k != first)
                    {
                        n.Set(k, p with { ParentUuid = last });
                    }
                }
            }
            else if (segment is not null)
            {
                var head = JsText.Str(segment, "headUuid");
                var anchor = JsText.Str(segment, "anchorUuid");
                var tail = JsText.Str(segment, "tailUuid");
                if (head is not null && n.Get(head) is { } c)
                {
                    n.Set(head, c with { ParentUuid = anchor });
                }

                foreach (var k in n.Keys.ToList())
                {
                    var x = n.Get(k)!;
                    if (x.ParentUuid == anchor && k != head)
                    {
                        n.Set(k, x with { ParentUuid = tail });
                    }
                }
            }
        }
    }

    /// <summary>
    /// The SDK's <c>Lk</c> (0.3.337; <c>qMe</c> before): an assistant response split over several entries (parallel
    /// tool calls) keeps only one part on the parentUuid chain; the other parts and their tool results, taken from
    /// <paramref name="n"/>, are put back after the last part that is on it. <paramref name="inChain"/> (the chain's
    /// uuids) gains what is put back.
    /// </summary>
    internal static List<ChainEntry> MergeSplitResponses(OrderedMap n, List<ChainEntry> chain, HashSet<string> inChain)
    {
        var assistants = chain.Where(b => b.Type == "assistant").ToList();
        if (assistants.Count == 0)
        {
            return chain;
        }

        var lastByMessage = new Dictionary<string, ChainEntry>(StringComparer.Ordinal);
        foreach (var b in assistants)
        {
            if (b.AssistantMessageId is { } id)
            {
                lastByMessage[id] = b;
            }
        }

        var partsByMessage = new Dictionary<string, List<ChainEntry>>(StringComparer.Ordinal);
        var toolUseOwner = new Dictionary<string, ChainEntry?>(StringComparer.Ordinal);
        var toolResults = new List<ChainEntry>();
        foreach (var b in n.Values)
        {
            var id = b.AssistantMessageId;
            if (id is not null)
            {
                if (!partsByMessage.TryGetValue(id, out var list))
                {
                    partsByMessage[id] = list = [];
                }

                list.Add(b);
                foreach (var x in b.BlockFields("tool_use", "id"))
                {
                    var had = toolUseOwner.TryGetValue(x, out var w);
                    toolUseOwner[x] = !had || (w is not null && w.AssistantMessageId == id) ? b : null;
                }
            }
            else if (b.IsToolResult)
            {
                toolResults.Add(b);
            }
        }

        var added = new HashSet<string>(StringComparer.Ordinal);
        var childrenOf = new Dictionary<string, List<ChainEntry>>(StringComparer.Ordinal);
        void AddChild(string? parent, ChainEntry child)
        {
            var k = parent + "\n" + child.Uuid;
            if (!added.Add(k))
            {
                return;
            }

            var key = parent ?? "";
            if (!childrenOf.TryGetValue(key, out var list))
            {
                childrenOf[key] = list = [];
            }

            list.Add(child);
        }

        static bool SameLine(ChainEntry a, ChainEntry b) => a.IsSidechain == b.IsSidechain && a.RawProperty("agentId") == b.RawProperty("agentId");

        foreach (var b in toolResults)
        {
            AddChild(b.ParentUuid, b);
            var source = b.SourceToolAssistantUuid;
            var c = source is not null && source != b.ParentUuid ? n.Get(source) : null;
            if (c is not null && SameLine(b, c))
            {
                AddChild(c.Uuid, b);
            }

            foreach (var a in b.BlockFields("tool_result", "tool_use_id"))
            {
                if (toolUseOwner.TryGetValue(a, out var x) && x is not null && SameLine(b, x))
                {
                    AddChild(x.Uuid, b);
                }
            }
        }

        var answered = new HashSet<string>(chain.SelectMany(b => b.BlockFields("tool_result", "tool_use_id")), StringComparer.Ordinal);
        Dictionary<string, int>? order = null;
        int Order(ChainEntry b)
        {
            if (order is null)
            {
                order = new Dictionary<string, int>(StringComparer.Ordinal);
                var i = 0;
                foreach (var k in n.Keys)
                {
                    order[k] = i++;
                }
            }

            return order.TryGetValue(b.Uuid, out var v) ? v : int.MaxValue;
        }

        var doneMessages = new HashSet<string>(StringComparer.Ordinal);
        var insertAfter = new Dictionary<string, List<ChainEntry>>(StringComparer.Ordinal);
        var total = 0;
        foreach (var b in assistants)
        {
            var id = b.AssistantMessageId;
            if (id is null || !doneMessages.Add(id))
            {
                continue;
            }

            var parts = partsByMessage.TryGetValue(id, out var ps) ? ps : [b];
            var partIds = new HashSet<string>(parts.Select(m => m.Uuid), StringComparer.Ordinal);
            var missingParts = parts.Where(m => !inChain.Contains(m.Uuid)).ToList();
            var direct = new List<ChainEntry>();
            var indirect = new List<ChainEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var m in parts)
            {
                if (!childrenOf.TryGetValue(m.Uuid, out var kids))
                {
                    continue;
                }

                foreach (var k in kids)
                {
                    if (inChain.Contains(k.Uuid) || !seen.Add(k.Uuid))
                    {
                        continue;
                    }

                    (k.ParentUuid is not null && partIds.Contains(k.ParentUuid) ? direct : indirect).Add(k);
                }
            }

            if (indirect.Count > 0)
            {
                var covered = new HashSet<string>(answered, StringComparer.Ordinal);
                foreach (var d in direct)
                {
                    covered.UnionWith(d.BlockFields("tool_result", "tool_use_id"));
                }

                foreach (var k in indirect.OrderBy(Order))
                {
                    var ids = k.BlockFields("tool_result", "tool_use_id");
                    if (!ids.Any(g => !covered.Contains(g) && toolUseOwner.TryGetValue(g, out var owner) && owner is not null && partIds.Contains(owner.Uuid)))
                    {
                        continue;
                    }

                    covered.UnionWith(ids);
                    direct.Add(k);
                }
            }

            if (missingParts.Count == 0 && direct.Count == 0)
            {
                continue;
            }

            var items = missingParts.OrderBy(x => x.Timestamp ?? "", StringComparer.Ordinal)
                .Concat(direct.OrderBy(x => x.Timestamp ?? "", StringComparer.Ordinal)).ToList();
            foreach (var m in items)
            {
                inChain.Add(m.Uuid);
            }

            total += items.Count;
            insertAfter[lastByMessage[id].Uuid] = items;
        }

        if (total == 0)
        {
            return chain;
        }

        var result = new List<ChainEntry>(chain.Count + total);
        foreach (var b in chain)
        {
            result.Add(b);
            if (insertAfter.TryGetValue(b.Uuid, out var extra))
            {
                result.AddRange(extra);
            }
        }

        return result;
    }
}

/// <summary>A string-keyed map that keeps first-insertion order like a JavaScript <c>Map</c>.</summary>
internal sealed class OrderedMap
{
    private readonly Dictionary<string, ChainEntry> _values = new(StringComparer.Ordinal);
    private readonly List<string> _keys = [];

    public IEnumerable<string> Keys => _keys;

    public IEnumerable<ChainEntry> Values => _keys.Select(k => _values[k]);

    public bool Contains(string key) => _values.ContainsKey(key);

    public ChainEntry? Get(string key) => _values.TryGetValue(key, out var v) ? v : null;

    /// <summary>Removes <paramref name="key"/> (a later <see cref="Set"/> puts it last, as <c>Map.delete</c> does).</summary>
    public void Remove(string key)
    {
        if (_values.Remove(key))
        {
            _keys.Remove(key);
        }
    }

    public void Set(string key, ChainEntry value)
    {
        if (!_values.ContainsKey(key))
        {
            _keys.Add(key);
        }

        _values[key] = value;
    }
}
