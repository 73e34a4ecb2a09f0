using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TcpProxy.Cli;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The option table, --help and README.md's options table name the same
/// options with the same defaults, whichever of them gains a row first.
/// </summary>
public sealed class OptionTableTests
{
    // Options System.CommandLine adds by itself; the README lists them too.
    internal static readonly string[] BuiltIn = ["--help", "--version"];

    [Fact]
    public void TheTable_TheHelp_AndTheReadme_NameTheSameOptions()
    {
        var inTable = OptionTable.Create().Where(row => row.Symbol is Option).Select(row => row.Name).Concat(BuiltIn).Order().ToArray();
        Assert.Equal(inTable, HelpLines().Keys.Order().ToArray());
        Assert.Equal(inTable, ReadmeDefaults().Keys.Order().ToArray());
    }

    [Fact]
    public void TheHelp_ShowsTheTablesDefaults()
    {
        Dictionary<string, string> help = HelpLines();
        foreach (OptionRow row in OptionTable.Create().Where(row => row.Symbol is Option))
        {
            Match shown = Regex.Match(help[row.Name], @"\[default: ([^\]]+)\]$");
            string? inHelp = shown.Success ? shown.Groups[1].Value : null;
            Assert.True(row.Default == inHelp, $"{row.Name}: the table says default '{row.Default}', --help '{inHelp}'");
        }
    }

    /// <summary>README may explain a default ("0 (only memory)") but must start with the table's; where the table has none, "off" or nothing.</summary>
    [Fact]
    public void TheReadme_GivesTheTablesDefaults()
    {
        Dictionary<string, string> readme = ReadmeDefaults();
        foreach (OptionRow row in OptionTable.Create().Where(row => row.Symbol is Option))
        {
            string inReadme = readme[row.Name];
            if (row.Default is null)
            {
                Assert.True(inReadme is "off" or "", $"{row.Name}: README says default '{inReadme}', the table none");
                continue;
            }
            string expected = row.Default.Split(';')[0];
            Assert.True(inReadme == expected || inReadme.StartsWith(expected + " (", StringComparison.Ordinal),
                $"{row.Name}: README says default '{inReadme}', the table '{row.Default}'");
        }
    }

    /// <summary>Each option's help line, after its name ("--buffer-size" → "&lt;bytes&gt;  Bytes buffered ... [default: 8192]").</summary>
    internal static Dictionary<string, string> HelpLines()
    {
        var output = new StringWriter();
        CommandLine.Parse(["--help"], output, output);
        var line = new Regex(@"^\s+(?:-[a-z?], )*(--[a-z-]+)\s*(.*)$");
        var lines = new Dictionary<string, string>();
        foreach (string text in output.ToString().Split('\n'))
        {
            Match m = line.Match(text.TrimEnd('\r'));
            if (m.Success)
                lines.Add(m.Groups[1].Value, m.Groups[2].Value);
        }
        return lines;
    }

    /// <summary>The default cell of each row of README.md's options table, by option name.</summary>
    internal static Dictionary<string, string> ReadmeDefaults()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        string table = readme[readme.IndexOf("## Options", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("\n\n", table.IndexOf("|---", StringComparison.Ordinal), StringComparison.Ordinal)];
        // | `--name VALUE` (or `-v`, `--verbose`) | default | meaning |; a cell may hold \| escapes.
        var row = new Regex(@"^\| ((?:[^|\\]|\\.)*)\| ((?:[^|\\]|\\.)*)\|", RegexOptions.Multiline);
        var defaults = new Dictionary<string, string>();
        foreach (Match match in row.Matches(table))
        {
            foreach (Match name in Regex.Matches(match.Groups[1].Value, @"`(--[a-z-]+)"))
                defaults.Add(name.Groups[1].Value, match.Groups[2].Value.Trim());
        }
        return defaults;
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        for (; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TcpProxy.sln")))
                return dir.FullName;
        }
        throw new FileNotFoundException("no TcpProxy.sln above " + AppContext.BaseDirectory);
    }
}
