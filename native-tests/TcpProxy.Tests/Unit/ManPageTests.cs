using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TcpProxy.Cli;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The man page and the shell completions are written by hand; the option
/// table stays the one home of the options: these hold them to it, as
/// <see cref="OptionTableTests"/> holds --help and README.md.
/// </summary>
public sealed class ManPageTests
{
    private static string[] TableOptions() =>
        OptionTable.Create().Where(row => row.Symbol is Option).Select(row => row.Name).Concat(OptionTableTests.BuiltIn).Order().ToArray();

    private static string Read(params string[] path) =>
        File.ReadAllText(Path.Combine([OptionTableTests.RepositoryRoot(), .. path]));

    [Fact]
    public void TheManPage_TheHelp_TheReadme_AndTheCompletions_NameTheSameOptions()
    {
        string[] table = TableOptions();
        Assert.Equal(table, ManPageOptions().Keys.Order().ToArray());
        Assert.Equal(table, OptionTableTests.HelpLines().Keys.Order().ToArray());
        Assert.Equal(table, OptionTableTests.ReadmeDefaults().Keys.Order().ToArray());
        Assert.Equal(table, LongOptions(Read("dist", "completion", "tcpproxy.bash")));
        Assert.Equal(table, LongOptions(Read("dist", "completion", "_tcpproxy")));
    }

    /// <summary>Each option's paragraph ends "Default: X." with the table's default; "off" or none where the table has none.</summary>
    [Fact]
    public void TheManPage_GivesTheTablesDefaults()
    {
        Dictionary<string, string> man = ManPageOptions();
        foreach (OptionRow row in OptionTable.Create().Where(row => row.Symbol is Option))
        {
            Match shown = Regex.Match(man[row.Name], @"^Default: (.+)\.$", RegexOptions.Multiline);
            string? inMan = shown.Success ? shown.Groups[1].Value : null;
            if (row.Default is null)
                Assert.True(inMan is null or "off", $"{row.Name}: the man page says default '{inMan}', the table none");
            else
                Assert.True(inMan == row.Default, $"{row.Name}: the man page says default '{inMan}', the table '{row.Default}'");
        }
    }

    [Fact]
    public void TheManPage_DocumentsEverySignalAndExitStatus()
    {
        string page = Read("dist", "man", "tcpproxy.1");
        foreach (string section in new[] { "SIGNALS", "EXIT STATUS", "FILES", "EXAMPLES" })
            Assert.Contains("\n.SH " + section + "\n", page, StringComparison.Ordinal);
        int signals = page.IndexOf("\n.SH SIGNALS\n", StringComparison.Ordinal);
        string tags = string.Join("\n", page[signals..page.IndexOf("\n.SH ", signals + 1, StringComparison.Ordinal)]
            .Split("\n.TP\n")[1..].Select(paragraph => paragraph[..paragraph.IndexOf('\n')]));
        foreach (string signal in new[] { "SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2" })
            Assert.Contains(signal, tags, StringComparison.Ordinal);
        foreach (int code in new[] { ExitCodes.Success, ExitCodes.RuntimeError, ExitCodes.UsageError })
            Assert.Matches(new Regex(@"^\.TP\n\.B " + code + "\n", RegexOptions.Multiline), page);
    }

    /// <summary>The page's header names the version the csproj gives the binary.</summary>
    [Fact]
    public void TheManPage_NamesTheBinarysVersion()
    {
        Version version = typeof(OptionTable).Assembly.GetName().Version!;
        string header = Read("dist", "man", "tcpproxy.1").Split('\n').First(line => line.StartsWith(".TH ", StringComparison.Ordinal));
        Assert.Contains("\"tcpproxy " + version.ToString(3) + "\"", header, StringComparison.Ordinal);
    }

    /// <summary>The OPTIONS section's tagged paragraphs: each long option named in a tag, with the paragraph's text.</summary>
    private static Dictionary<string, string> ManPageOptions()
    {
        string page = Read("dist", "man", "tcpproxy.1");
        int start = page.IndexOf("\n.SH OPTIONS\n", StringComparison.Ordinal);
        int end = page.IndexOf("\n.SH ", start + 1, StringComparison.Ordinal);
        var options = new Dictionary<string, string>();
        foreach (string paragraph in page[start..end].Split("\n.TP\n")[1..])
        {
            string tag = paragraph[..paragraph.IndexOf('\n')];
            foreach (Match name in Regex.Matches(tag, @"\\-\\-([a-z\\-]+)"))
                options.Add("--" + name.Groups[1].Value.Replace("\\-", "-"), paragraph);
        }
        return options;
    }

    private static string[] LongOptions(string script) =>
        Regex.Matches(script, @"(?<![\w-])--[a-z][a-z-]*[a-z]").Select(m => m.Value).Distinct().Order().ToArray();
}
