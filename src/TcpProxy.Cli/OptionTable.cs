using System;
using System.Globalization;
using TcpProxy.Configuration;
using static TcpProxy.Cli.OptionParsers;

namespace TcpProxy.Cli;

/// <summary>
/// Every argument and option of the command line, once: its name, --help
/// text and default, how its text is parsed (<see cref="OptionParsers"/>),
/// and where its value goes in <see cref="ProxyOptions"/>. Parsing and --help
/// come from these rows; a unit test holds README.md's options table to them.
/// Checks between options are not here but in <see cref="OptionChecks"/>,
/// which ProxyServer runs too. The table lives in the CLI, not in
/// Configuration, because its parsers need floors above Configuration
/// (which pollers this system has, whether it can splice) and System.CommandLine.
/// </summary>
internal static class OptionTable
{
    /// <summary>The options when none is given: the defaults --help shows, and what parsing starts from.</summary>
    public static readonly ProxyOptions Defaults = new() { DestinationHost = "", DestinationPort = 0, ListenPort = 0 };

    /// <summary>The rows in --help's order, with symbols of their own (a symbol belongs to one parse).</summary>
    public static OptionRow[] Create() =>
    [
        new ArgumentRow<string>("destination-host", "Host name or address to forward every connection to.",
            TryHost, (o, v) => o with { DestinationHost = v }),
        new ArgumentRow<int>("destination-port", "TCP port on the destination (1-65535).",
            ValueParsers.TryPort, (o, v) => o with { DestinationPort = v }),
        new ArgumentRow<int>("listen-port", "TCP port to accept clients on (1-65535).",
            ValueParsers.TryPort, (o, v) => o with { ListenPort = v }),
        new ValueRow<int>("--buffer-size", "bytes",
            "Bytes buffered per direction (the high-water mark; e.g. 64K); reading stops while the buffer is full.",
            TryBufferSize, (o, v) => o with { BufferSize = v }, Defaults.BufferSize),
        new ValueRow<long>("--buffer-memory", "bytes",
            "Upper bound on all ring buffers together (e.g. 512K, 64M, 2G); a direction that needs a buffer beyond it stops reading until one frees up. 0: only memory.",
            TryBufferMemory, (o, v) => o with { BufferMemory = v }, Defaults.BufferMemory),
        new ValueRow<double>("--stall-timeout", "seconds",
            "Seconds buffered data may stay unwritable before the pair is aborted (fractions allowed).",
            Seconds(0.01, allowZero: false), (o, v) => o with { StallTimeout = TimeSpan.FromSeconds(v) }, Defaults.StallTimeout.TotalSeconds),
        new ValueRow<double>("--connect-timeout", "seconds",
            "Seconds one destination address may take to accept the connection before the next is tried (fractions allowed).",
            Seconds(0.01, allowZero: false), (o, v) => o with { ConnectTimeout = TimeSpan.FromSeconds(v) }, Defaults.ConnectTimeout.TotalSeconds),
        new ValueRow<double>("--resolve-interval", "seconds",
            "Seconds between lookups of the destination's name, whose addresses may change (new clients use the new ones). 0: once at start-up. An address is never looked up.",
            Seconds(0.01, allowZero: true), (o, v) => o with { ResolveInterval = TimeSpan.FromSeconds(v) }, Defaults.ResolveInterval.TotalSeconds),
        new ValueRow<double>("--idle-timeout", "seconds",
            "Close a pair that moved no byte either way for this many seconds. 0: never.",
            Seconds(0.01, allowZero: true), (o, v) => o with { IdleTimeout = TimeSpan.FromSeconds(v) }, Defaults.IdleTimeout.TotalSeconds),
        new ValueRow<double>("--drain-timeout", "seconds",
            "After SIGTERM/SIGINT, seconds open connections may take to finish before they are aborted. 0: abort at once.",
            Seconds(0, allowZero: false), (o, v) => o with { DrainTimeout = TimeSpan.FromSeconds(v) }, Defaults.DrainTimeout.TotalSeconds),
        new ValueRow<double>("--upgrade-timeout", "seconds",
            "After SIGUSR2, seconds the new binary may take to accept before it is killed and this process serves on.",
            Seconds(0.01, allowZero: false), (o, v) => o with { UpgradeTimeout = TimeSpan.FromSeconds(v) }, Defaults.UpgradeTimeout.TotalSeconds),
        new ValueRow<int>("--max-connections", "count",
            "Open clients (connecting ones included) at which accepting pauses; further clients wait in the backlog. 0: only the fd limit.",
            TryMaxConnections, (o, v) => o with { MaxConnections = v }, Defaults.MaxConnections),
        new ValueRow<string?>("--access-log", "path",
            "Write one line per closed connection to this file ('-': stderr); SIGHUP reopens it.",
            TryPath, (o, v) => o with { AccessLogPath = v }),
        new ValueRow<AccessLogFormat?>("--log-format", HelpName(AccessLogFormatNames.All),
            "Access-log lines as key=value text or as one JSON object each.",
            Choice(AccessLogFormatNames.All), (o, v) => o with { AccessLogFormat = v!.Value }, defaultInWords: Defaults.AccessLogFormat.Name()),
        new ValueRow<(string Host, int Port)?>("--metrics", "address:port",
            "Serve Prometheus metrics at http://ADDRESS:PORT/metrics (e.g. 127.0.0.1:9100, [::1]:9100).",
            TryMetrics, (o, v) => o with { MetricsHost = v!.Value.Host, MetricsPort = v.Value.Port }),
        new ValueRow<ProxyProtocolVersion?>("--send-proxy", HelpName(ProxyProtocolVersions.All),
            "Send HAProxy's PROXY protocol header (v1 text or v2 binary) to the destination before the client's bytes.",
            Choice(ProxyProtocolVersions.All), (o, v) => o with { SendProxy = v!.Value }, defaultInWords: "none"),
        new ValueRow<string?>("--bind", "address",
            "Address to listen on.",
            TryBind, (o, v) => o with { BindAddress = v }, defaultInWords: "all interfaces, IPv4 and IPv6"),
        new ValueRow<PollerKind?>("--poller", HelpName(PollerKindNames.All),
            "Readiness backend: the system's own (auto: epoll on Linux, kqueue on macOS), or poll(2), the POSIX fallback.",
            TryPoller, (o, v) => o with { Poller = v!.Value }, defaultInWords: Defaults.Poller.Name()),
        new ValueRow<int?>("--reactors", "N|auto",
            "Event loops, each on a thread of its own with its own listening socket on the port (SO_REUSEPORT), 1 to "
            + ProxyOptions.MaxReactors.ToString(CultureInfo.InvariantCulture) + "; auto: one per CPU this process may use.",
            TryReactors, (o, v) => o with { Reactors = v!.Value }, defaultInWords: Defaults.Reactors.ToString(CultureInfo.InvariantCulture)),
        new ValueRow<SpliceMode?>("--splice", HelpName(SpliceModeNames.All),
            "Move bytes with splice(2) through kernel pipes instead of copying through buffers (Linux): on, off, or auto, "
            + "where each direction switches to splice while it streams in bulk (off where there is no splice(2)).",
            TrySplice, (o, v) => o with { Splice = v!.Value }, defaultInWords: Defaults.Splice.Name()),
        new FlagRow("--verbose", "-v", "Log one line per connection opened and closed.", o => o with { LogLevel = LogLevel.Verbose }),
        new FlagRow("--quiet", "-q", "Log only errors that stop the proxy.", o => o with { LogLevel = LogLevel.Quiet }),
    ];

    private static string HelpName<T>(EnumNames<T> names) where T : struct, Enum => string.Join("|", names.Names);
}
