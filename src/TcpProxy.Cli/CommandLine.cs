using System;
using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.IO;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Cli;

/// <summary>The outcome of parsing: options to run with, or an exit code (help, version, or a usage error already printed).</summary>
internal readonly record struct ParsedCommandLine(ProxyOptions? Options, int ExitCode);

/// <summary>
/// Parses `tcpproxy destination-host destination-port listen-port [options]`
/// with System.CommandLine. Every option's value goes through a parser of
/// ours (<see cref="ValueParsers"/>), so any malformed or out-of-range value
/// becomes one line "tcpproxy: --option: problem (usage: ...)" and exit code
/// 2. No proxy logic lives here.
/// </summary>
internal static class CommandLine
{
    private const string Usage = "usage: tcpproxy destination-host destination-port listen-port [options]; see --help";
    private const int MaxBufferSize = 64 * 1024 * 1024;
    private const double MaxSeconds = 7 * 24 * 3600;

    private delegate bool TryParse<T>(string text, out T value, out string? problem);

    public static ParsedCommandLine Parse(string[] args, TextWriter output, TextWriter error)
    {
        var destinationHost = Positional<string>("destination-host", "Host name or address to forward every connection to.", TryHost);
        var destinationPort = Positional<int>("destination-port", "TCP port on the destination (1-65535).", ValueParsers.TryPort);
        var listenPort = Positional<int>("listen-port", "TCP port to accept clients on (1-65535).", ValueParsers.TryPort);
        var bufferSize = Valued("--buffer-size", "bytes", ProxyOptions.DefaultBufferSize,
            "Bytes buffered per direction (the high-water mark); reading stops while the buffer is full.",
            (string text, out int value, out string? problem) =>
            {
                bool ok = ValueParsers.TryWholeNumber(text, 1, MaxBufferSize, "bytes", out long parsed, out problem);
                value = (int)parsed;
                return ok;
            });
        var bufferMemory = Valued("--buffer-memory", "bytes", 0L,
            "Upper bound on all ring buffers together (e.g. 64M); a direction that needs a buffer beyond it stops reading until one frees up. 0 = only memory.",
            (string text, out long value, out string? problem) => ValueParsers.TryByteCount(text, 0, long.MaxValue / 2, out value, out problem));
        var stallTimeout = Valued("--stall-timeout", "seconds", ProxyOptions.DefaultStallTimeout.TotalSeconds,
            "Seconds buffered data may stay unwritable before the pair is aborted (fractions allowed).",
            Seconds(0.01, allowZero: false));
        var connectTimeout = Valued("--connect-timeout", "seconds", ProxyOptions.DefaultConnectTimeout.TotalSeconds,
            "Seconds one destination address may take to accept the connection before the next is tried (fractions allowed).",
            Seconds(0.01, allowZero: false));
        var idleTimeout = Valued("--idle-timeout", "seconds", 0.0,
            "Close a pair that moved no byte either way for this many seconds; 0 = never.",
            Seconds(0.01, allowZero: true));
        var drainTimeout = Valued("--drain-timeout", "seconds", ProxyOptions.DefaultDrainTimeout.TotalSeconds,
            "After SIGTERM/SIGINT, seconds open connections may take to finish before they are aborted (0: abort at once).",
            Seconds(0, allowZero: false));
        var maxConnections = Valued("--max-connections", "count", 0,
            "Open clients (connecting ones included) at which accepting pauses; further clients wait in the backlog. 0 = only the fd limit.",
            (string text, out int value, out string? problem) =>
            {
                bool ok = ValueParsers.TryWholeNumber(text, 0, int.MaxValue, "connections", out long parsed, out problem);
                value = (int)parsed;
                return ok;
            });
        var metrics = Valued<(string Host, int Port)?>("--metrics", "address:port", null,
            "Serve Prometheus metrics at http://ADDRESS:PORT/metrics (e.g. 127.0.0.1:9100, [::1]:9100).",
            (string text, out (string Host, int Port)? value, out string? problem) =>
            {
                bool ok = ValueParsers.TryHostAndPort(text, out string host, out int port, out problem);
                value = ok ? (host, port) : null;
                return ok;
            });
        var sendProxy = Valued<ProxyProtocolVersion?>("--send-proxy", "v1|v2", null,
            "Send HAProxy's PROXY protocol header (v1 text or v2 binary) to the destination before the client's bytes (default: none).",
            (string text, out ProxyProtocolVersion? value, out string? problem) =>
            {
                bool ok = ValueParsers.TryChoice(text, ["v1", "v2"], out int index, out problem);
                value = ok ? (ProxyProtocolVersion)(index + 1) : null;
                return ok;
            });
        var accessLog = Valued<string?>("--access-log", "path", null,
            "Write one line per closed connection to this file ('-': stderr); SIGHUP reopens it.",
            (string text, out string? value, out string? problem) =>
            {
                value = text;
                return ValueParsers.TryNonEmpty(text, "path", out problem);
            });
        // Enums have no default in --help (it would print the C# name); the description says it.
        var logFormat = Valued<AccessLogFormat?>("--log-format", "text|json", null,
            "Access-log lines as key=value text or as one JSON object each (default: text).",
            (string text, out AccessLogFormat? value, out string? problem) =>
            {
                bool ok = ValueParsers.TryChoice(text, ["text", "json"], out int index, out problem);
                value = ok ? (AccessLogFormat)index : null;
                return ok;
            });
        var bind = Valued<string?>("--bind", "address", null,
            "Address to listen on (default: all interfaces, IPv4 and IPv6).",
            (string text, out string? value, out string? problem) =>
            {
                value = text;
                return ValueParsers.TryNonEmpty(text, "address", out problem);
            });
        var poller = Valued<PollerKind?>("--poller", "auto|epoll|kqueue|poll", null,
            "Readiness backend: the system's own (auto: epoll on Linux, kqueue on macOS), or poll(2), the POSIX fallback (default: auto).",
            TryPoller);
        var reactors = Valued<int?>("--reactors", "N|auto", null,
            "Event loops, each on a thread of its own with its own listening socket on the port (SO_REUSEPORT), 1 to "
            + ProxyOptions.MaxReactors.ToString(CultureInfo.InvariantCulture) + "; auto: one per CPU this process may use (default: 1).",
            TryReactors);
        var splice = Valued<SpliceMode?>("--splice", "off|on|auto", null,
            "Move bytes with splice(2) through kernel pipes instead of copying through buffers (Linux): on, off, or auto, "
            + "where each direction switches to splice while it streams in bulk (default: auto; off without splice(2)).",
            TrySplice);
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log one line per connection opened and closed." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Log only errors that stop the proxy." };

        var root = new RootCommand("An asynchronous TCP proxy: forwards every client connection to the destination, both ways.")
        {
            destinationHost, destinationPort, listenPort, bufferSize, bufferMemory, stallTimeout, connectTimeout, idleTimeout, drainTimeout, maxConnections,
            accessLog, logFormat, metrics, sendProxy, bind, poller, reactors, splice, verbose, quiet,
        };

        ParseResult result = root.Parse(args);
        string? problem = UsageProblems.First(result, [destinationHost, destinationPort, listenPort]);
        if (problem is null && result.Action is ParseErrorAction)
            problem = "invalid command line";
        if (problem is null && result.Action is not null)
        {
            // --help or --version: let System.CommandLine print them.
            // No default exception handler: a failing write (stdout on a full disk) becomes
            // Program's one-line internal error, not a stack trace.
            int code = result.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
            return new ParsedCommandLine(null, code);
        }
        var options = problem is not null ? null : new ProxyOptions
        {
            DestinationHost = result.GetValue(destinationHost)!,
            DestinationPort = result.GetValue(destinationPort),
            ListenPort = result.GetValue(listenPort),
            BindAddress = result.GetValue(bind),
            BufferSize = result.GetValue(bufferSize),
            BufferMemory = result.GetValue(bufferMemory),
            StallTimeout = TimeSpan.FromSeconds(result.GetValue(stallTimeout)),
            ConnectTimeout = TimeSpan.FromSeconds(result.GetValue(connectTimeout)),
            IdleTimeout = TimeSpan.FromSeconds(result.GetValue(idleTimeout)),
            DrainTimeout = TimeSpan.FromSeconds(result.GetValue(drainTimeout)),
            MaxConnections = result.GetValue(maxConnections),
            MetricsHost = result.GetValue(metrics)?.Host,
            MetricsPort = result.GetValue(metrics)?.Port ?? 0,
            SendProxy = result.GetValue(sendProxy) ?? ProxyProtocolVersion.None,
            AccessLogPath = result.GetValue(accessLog),
            AccessLogFormat = result.GetValue(logFormat) ?? AccessLogFormat.Text,
            LogLevel = result.GetValue(verbose) ? LogLevel.Verbose : result.GetValue(quiet) ? LogLevel.Quiet : LogLevel.Normal,
            Poller = result.GetValue(poller) ?? PollerKind.Auto,
            Reactors = result.GetValue(reactors) ?? 1,
            Splice = result.GetValue(splice) ?? SpliceMode.Auto,
        };
        if (options is not null)
            problem = OptionChecks.FirstProblem(options, name => name switch
            {
                "--verbose" => result.GetValue(verbose) ? "" : null,
                "--quiet" => result.GetValue(quiet) ? "" : null,
                _ => result.GetResult(name) is OptionResult { Implicit: false } given ? given.Tokens[0].Value : null,
            });
        if (problem is not null)
        {
            error.WriteLine("tcpproxy: " + problem + " (" + Usage + ")");
            return new ParsedCommandLine(null, ExitCodes.UsageError);
        }
        return new ParsedCommandLine(options, ExitCodes.Success);
    }

    private static bool TryHost(string text, out string value, out string? problem)
    {
        value = text;
        return ValueParsers.TryNonEmpty(text, "host name", out problem);
    }

    /// <summary>A backend name; one this operating system lacks (kqueue on Linux, epoll on macOS) is a usage error too.</summary>
    private static bool TryPoller(string text, out PollerKind? value, out string? problem)
    {
        value = null;
        if (!ValueParsers.TryChoice(text, ["auto", "epoll", "kqueue", "poll"], out int index, out problem))
            return false;
        var kind = (PollerKind)index;
        if (!PollerFactory.IsAvailable(kind))
        {
            problem = "'" + text + "' is not available on " + PollerFactory.OperatingSystemName;
            return false;
        }
        value = kind;
        return true;
    }

    /// <summary>A count of reactors, or auto; more than one only where the kernel spreads clients over them (Linux).</summary>
    private static bool TryReactors(string text, out int? value, out string? problem)
    {
        value = null;
        if (text == "auto")
        {
            problem = null;
            value = ProxyOptions.AutoReactors;
            return true;
        }
        if (!ValueParsers.TryWholeNumber(text, 1, ProxyOptions.MaxReactors, "reactors (or auto)", out long count, out problem))
            return false;
        if (count > 1 && !ProxyOptions.SeveralReactorsSupported)
        {
            problem = "'" + text + "' needs Linux (SO_REUSEPORT spreading clients over the reactors); this is " + PollerFactory.OperatingSystemName;
            return false;
        }
        value = (int)count;
        return true;
    }

    /// <summary>off, on or auto; on where the system has no splice(2) (macOS) is a usage error, auto there means off.</summary>
    private static bool TrySplice(string text, out SpliceMode? value, out string? problem)
    {
        value = null;
        if (!ValueParsers.TryChoice(text, ["off", "on", "auto"], out int index, out problem))
            return false;
        var mode = (SpliceMode)index;
        if (mode == SpliceMode.On && !Sys.SpliceAvailable)
        {
            problem = "'on' is not available on " + Sys.OperatingSystemName + " (splice(2) is Linux-only)";
            return false;
        }
        value = mode;
        return true;
    }

    private static TryParse<double> Seconds(double min, bool allowZero) =>
        (string text, out double value, out string? problem) =>
        {
            bool ok = ValueParsers.TrySeconds(text, min, MaxSeconds, allowZero, out TimeSpan parsed, out problem);
            value = parsed.TotalSeconds;
            return ok;
        };

    private static Argument<T> Positional<T>(string name, string description, TryParse<T> parse) =>
        new(name) { Description = description, CustomParser = result => Convert(result, name, parse) };

    /// <summary>An option with one value, parsed by us; its default shows in --help.</summary>
    private static Option<T> Valued<T>(string name, string helpName, T defaultValue, string description, TryParse<T> parse) =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => Convert(result, name, parse),
        };

    private static T Convert<T>(ArgumentResult result, string name, TryParse<T> parse)
    {
        if (result.Tokens.Count == 0)
        {
            result.AddError(name + ": missing value");
            return default!;
        }
        if (result.Tokens.Count > 1)
        {
            result.AddError(name + ": given more than once");
            return default!;
        }
        if (parse(result.Tokens[0].Value, out T value, out string? problem))
            return value;
        result.AddError(name + ": " + problem);
        return default!;
    }

}
