using System;
using System.Collections.Generic;
using System.IO;

namespace TcpProxy.Tests.Support;

/// <summary>Finds the built ./tcpproxy: $TCPPROXY_BIN, else the tcpproxy next to TcpProxy.sln above the test output.</summary>
public static class ProxyBinary
{
    // Located on each use (a few stat calls), so a missing binary fails each test with a plain message.
    public static string Path => Locate();

    /// <summary>
    /// $TCPPROXY_EXTRA_ARGS, split on white space: appended to every proxy a test
    /// starts to forward traffic (not to the command-line tests), so one suite
    /// runs against each backend — `make dotnet-test-poll` sets "--poller poll".
    /// </summary>
    public static IReadOnlyList<string> ExtraArguments { get; } =
        (Environment.GetEnvironmentVariable("TCPPROXY_EXTRA_ARGS") ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The extra arguments, unless the test sets one of their options itself (it knows better).</summary>
    public static IEnumerable<string> ExtraArgumentsBeside(IEnumerable<string> options)
    {
        var given = new HashSet<string>(options);
        foreach (string extra in ExtraArguments)
        {
            if (extra.StartsWith('-') && given.Contains(extra))
                return Array.Empty<string>();
        }
        return ExtraArguments;
    }

    static string Locate()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("TCPPROXY_BIN");
        if (!string.IsNullOrWhiteSpace(fromEnv))
            return RequireExecutable(System.IO.Path.GetFullPath(fromEnv), "TCPPROXY_BIN");

        // Bounded walk: the test output sits a handful of levels under the repository root.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        for (int depth = 0; dir is not null && depth < 16; depth++, dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "TcpProxy.sln")))
                return RequireExecutable(System.IO.Path.Combine(dir.FullName, "tcpproxy"), "the repository root");
        }
        throw new FileNotFoundException(
            "tcpproxy binary not found: set TCPPROXY_BIN or run from a checkout that holds TcpProxy.sln");
    }

    static string RequireExecutable(string path, string source)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"tcpproxy binary from {source} does not exist: {path} (run `make` first)", path);
        return path;
    }
}
