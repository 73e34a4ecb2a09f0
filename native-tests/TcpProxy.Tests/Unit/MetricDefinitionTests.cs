using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TcpProxy.Metrics;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The metric definitions (<see cref="ProxyMetrics.Families"/>) and the
/// README's metrics table name the same metrics, with the same type, label
/// and HELP text, and the README names every fixed label value; and the
/// definitions follow Prometheus' naming.
/// </summary>
public sealed class MetricDefinitionTests
{
    // A row: | `name{label}` | type | help | labels, notes |
    private static readonly Regex Row = new(@"^\| `([a-z_]+)(?:\{([a-z_]+)\})?` \| ([^|]*)\|([^|]*)\|([^|]*)\|\s*$", RegexOptions.Multiline);

    private sealed record ReadmeRow(string? Label, string Type, string Help, string Notes);

    [Fact]
    public void EveryDefinedMetric_HasAReadmeRow()
    {
        Dictionary<string, ReadmeRow> rows = ReadmeRows();

        string[] missing = ProxyMetrics.Families.Select(f => f.Name).Where(name => !rows.ContainsKey(name)).ToArray();

        Assert.True(missing.Length == 0, "defined but not in README.md's metrics table: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryReadmeRow_IsADefinedMetric()
    {
        var defined = ProxyMetrics.Families.Select(f => f.Name).ToHashSet();

        string[] extra = ReadmeRows().Keys.Where(name => !defined.Contains(name)).ToArray();

        Assert.True(extra.Length == 0, "in README.md's metrics table but not defined: " + string.Join(", ", extra));
    }

    [Fact]
    public void EveryReadmeRow_GivesTheDefinedTypeLabelAndHelp()
    {
        Dictionary<string, ReadmeRow> rows = ReadmeRows();
        foreach (MetricFamily family in ProxyMetrics.Families.Where(f => rows.ContainsKey(f.Name)))
        {
            ReadmeRow row = rows[family.Name];
            Assert.True(family.Label == row.Label, $"{family.Name}: label {family.Label ?? "none"} defined, {row.Label ?? "none"} in the README");
            Assert.True(family.TypeName == row.Type, $"{family.Name}: {family.TypeName} defined, {row.Type} in the README");
            Assert.True(family.Help == row.Help, $"{family.Name}: the README's help\n  {row.Help}\nis not the HELP text\n  {family.Help}");
        }
    }

    [Fact]
    public void EveryFixedLabelValue_IsNamedInItsReadmeRow()
    {
        Dictionary<string, ReadmeRow> rows = ReadmeRows();
        foreach (MetricFamily family in ProxyMetrics.Families.Where(f => rows.ContainsKey(f.Name)))
        {
            foreach (MetricSeries series in family.Series.Where(s => s.LabelValue != null))
                Assert.True(rows[family.Name].Notes.Contains("`" + series.LabelValue + "`", StringComparison.Ordinal),
                    $"{family.Name}: label value `{series.LabelValue}` not named in its README row");
        }
    }

    [Fact]
    public void Names_AreUnique_AndEndInTotal_ExactlyWhenCounters()
    {
        Assert.Equal(ProxyMetrics.Families.Length, ProxyMetrics.Families.Select(f => f.Name).Distinct().Count());
        foreach (MetricFamily family in ProxyMetrics.Families)
            Assert.True(family.Name.EndsWith("_total", StringComparison.Ordinal) == (family.Type == MetricType.Counter),
                $"{family.Name} is a {family.TypeName}: a counter's name ends in _total, a gauge's does not");
    }

    [Fact]
    public void EveryFamily_HasSeries_AndAnUnlabelledOneExactlyOne()
    {
        foreach (MetricFamily family in ProxyMetrics.Families)
        {
            Assert.True(family.PerReactor != null ^ family.Series.Length > 0, family.Name + ": series, or one per reactor");
            if (family.Label == null)
                Assert.True(family.Series.Length == 1 && family.Series[0].LabelValue == null, family.Name + ": unlabelled, so one series without a label value");
        }
    }

    [Fact]
    public void TheReadmeTable_IsFound()
    {
        // Guards the checks above against a regex that matches nothing.
        Assert.True(ReadmeRows().Count >= 20);
    }

    private static Dictionary<string, ReadmeRow> ReadmeRows()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        int start = readme.IndexOf("\n## Metrics\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Metrics' section");
        int end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string section = end < 0 ? readme[start..] : readme[start..end];
        var rows = new Dictionary<string, ReadmeRow>();
        foreach (Match row in Row.Matches(section))
        {
            string name = row.Groups[1].Value;
            Assert.False(rows.ContainsKey(name), name + ": two rows in the README");
            string? label = row.Groups[2].Success ? row.Groups[2].Value : null;
            rows[name] = new ReadmeRow(label, row.Groups[3].Value.Trim(), row.Groups[4].Value.Trim(), row.Groups[5].Value.Trim());
        }
        return rows;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        for (int depth = 0; dir is not null && depth < 16; depth++, dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TcpProxy.sln")))
                return dir.FullName;
        }
        throw new FileNotFoundException("no TcpProxy.sln above " + AppContext.BaseDirectory);
    }
}
