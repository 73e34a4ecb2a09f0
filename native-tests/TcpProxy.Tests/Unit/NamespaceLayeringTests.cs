using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The namespaces form a straight line, each floor naming only what is below
/// it: configuration, interop, reactor, logging, proxy, metrics, hosting, the
/// CLI. Read from the compiled IL, so every use counts (a call, a field, a
/// local), not only the using directives. Within a floor, types may call each
/// other, but no cycle of types may cross from one namespace to another
/// (the interop front and its per-OS layers, say).
/// </summary>
public sealed class NamespaceLayeringTests(ITestOutputHelper output)
{
    /// <summary>Bottom up; a namespace below another's floor is "below it".</summary>
    public static readonly string[][] Floors =
    [
        ["TcpProxy.Configuration"],
        ["TcpProxy.Interop", "TcpProxy.Interop.Linux", "TcpProxy.Interop.Darwin"],
        ["TcpProxy.Reactor"],
        ["TcpProxy.Logging"],
        ["TcpProxy.Proxy"],
        ["TcpProxy.Metrics"],
        ["TcpProxy.Hosting"],
        ["TcpProxy.Cli"],
    ];

    private static readonly string[] Assemblies = ["TcpProxy.Core", "tcpproxy"];

    [Fact]
    public void EveryArrow_PointsDownOrAcrossOneFloor()
    {
        var offenders = new SortedSet<string>();
        foreach ((string from, string to) in NamespaceEdges(TypeGraph()))
        {
            int fromFloor = FloorOf(from), toFloor = FloorOf(to);
            if (fromFloor < 0)
                offenders.Add(from + " belongs to no floor");
            else if (toFloor < 0)
                offenders.Add(to + " belongs to no floor");
            else if (toFloor > fromFloor)
                offenders.Add(from + " -> " + to + " (up)");
        }
        string graph = Describe(TypeGraph());
        output.WriteLine(graph);
        Assert.True(offenders.Count == 0, string.Join("\n", offenders) + "\n\nthe graph:\n" + graph);
    }

    [Fact]
    public void NoCycleOfTypes_CrossesANamespace()
    {
        var offenders = new List<string>();
        foreach (List<Type> cycle in StronglyConnected(TypeGraph()))
        {
            if (cycle.Select(t => t.Namespace).Distinct().Count() > 1)
                offenders.Add(string.Join(" <-> ", cycle.Select(t => t.FullName).OrderBy(n => n, StringComparer.Ordinal)));
        }
        Assert.True(offenders.Count == 0, "cycles across namespaces:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void TheGraph_SeesTheArrowsThatExist()
    {
        // The proxy's pairs run on the reactor, and the CLI builds the options: if the
        // reader missed these, the checks above would pass on nothing.
        var edges = NamespaceEdges(TypeGraph()).ToHashSet();
        Assert.Contains(("TcpProxy.Proxy", "TcpProxy.Reactor"), edges);
        Assert.Contains(("TcpProxy.Cli", "TcpProxy.Configuration"), edges);
    }

    [Fact]
    public void TheCycleFinder_FindsACycle()
    {
        var graph = new Dictionary<Type, HashSet<Type>>
        {
            [typeof(int)] = [typeof(long)],
            [typeof(long)] = [typeof(short)],
            [typeof(short)] = [typeof(int)],
            [typeof(string)] = [typeof(int)],
        };
        List<List<Type>> cycles = StronglyConnected(graph).ToList();
        Assert.Single(cycles);
        Assert.Equal(3, cycles[0].Count);
    }

    private static int FloorOf(string ns) => Array.FindIndex(Floors, floor => floor.Contains(ns));

    /// <summary>Top-level types of the proxy and the proxy types each names (nested and compiler-made types folded into their outermost type).</summary>
    private static Dictionary<Type, HashSet<Type>> TypeGraph()
    {
        var graph = new Dictionary<Type, HashSet<Type>>();
        foreach (string name in Assemblies)
        {
            foreach (Type type in Assembly.Load(name).GetTypes())
            {
                Type from = Outermost(type);
                if (!IsOurs(from))
                    continue;
                if (!graph.TryGetValue(from, out HashSet<Type>? targets))
                    graph[from] = targets = new HashSet<Type>();
                foreach (Type named in IlReferences.TypesNamedBy(type).SelectMany(IlReferences.Constituents))
                {
                    Type to = Outermost(named);
                    if (to != from && IsOurs(to))
                        targets.Add(to);
                }
            }
        }
        return graph;
    }

    private static bool IsOurs(Type type) =>
        type.Namespace is string ns && (ns == "TcpProxy" || ns.StartsWith("TcpProxy.", StringComparison.Ordinal))
        && !ns.StartsWith("TcpProxy.Tests", StringComparison.Ordinal);

    private static Type Outermost(Type type)
    {
        if (type.IsGenericParameter)
            return type.DeclaringType is Type owner ? Outermost(owner) : type;
        while (type.DeclaringType != null)
            type = type.DeclaringType;
        return type.IsGenericType ? type.GetGenericTypeDefinition() : type;
    }

    private static IEnumerable<(string From, string To)> NamespaceEdges(Dictionary<Type, HashSet<Type>> graph) =>
        graph.SelectMany(pair => pair.Value.Select(to => (From: pair.Key.Namespace!, To: to.Namespace!)))
            .Where(edge => edge.From != edge.To)
            .Distinct();

    /// <summary>The namespace graph, one line per namespace: what it names, and through which types.</summary>
    public static string Describe() => Describe(TypeGraph());

    private static string Describe(Dictionary<Type, HashSet<Type>> graph)
    {
        var lines = new List<string>();
        foreach (IGrouping<string, (string From, string To)> group in NamespaceEdges(graph).GroupBy(e => e.From).OrderBy(g => g.Key, StringComparer.Ordinal))
            lines.Add(group.Key + " -> " + string.Join(", ", group.Select(e => e.To).OrderBy(n => n, StringComparer.Ordinal)));
        return string.Join("\n", lines);
    }

    /// <summary>Tarjan's strongly connected components with more than one type: the cycles.</summary>
    private static IEnumerable<List<Type>> StronglyConnected(Dictionary<Type, HashSet<Type>> graph)
    {
        var index = new Dictionary<Type, int>();
        var low = new Dictionary<Type, int>();
        var stack = new Stack<Type>();
        var onStack = new HashSet<Type>();
        var components = new List<List<Type>>();
        int next = 0;

        void Visit(Type node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (Type target in graph.TryGetValue(node, out HashSet<Type>? targets) ? targets : [])
            {
                if (!index.ContainsKey(target))
                {
                    Visit(target);
                    low[node] = Math.Min(low[node], low[target]);
                }
                else if (onStack.Contains(target))
                    low[node] = Math.Min(low[node], index[target]);
            }
            if (low[node] != index[node])
                return;
            var component = new List<Type>();
            Type member;
            do
            {
                member = stack.Pop();
                onStack.Remove(member);
                component.Add(member);
            }
            while (member != node);
            if (component.Count > 1)
                components.Add(component);
        }

        foreach (Type node in graph.Keys.ToList())
        {
            if (!index.ContainsKey(node))
                Visit(node);
        }
        return components;
    }
}
