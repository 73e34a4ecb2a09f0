using System;
using System.IO;
using System.Net;
using System.Net.Sockets;

namespace TcpProxy.Tests.Support;

/// <summary>
/// Name resolution of the test's own, for a proxy started in a mount
/// namespace (unshare -m): a hosts file and a resolv.conf bind-mounted over
/// /etc/hosts and /etc/resolv.conf there, so the machine's own are never
/// touched. glibc reads both at every lookup. The nameserver it names is a
/// UDP socket the test holds and never answers: a name not in the hosts file
/// takes the resolver's whole timeout to fail.
/// </summary>
public sealed class PrivateNameService : IDisposable
{
    // A loopback address of its own: nothing else answers DNS there.
    const string NameServer = "127.0.0.77";

    readonly string _directory = Path.Combine(Path.GetTempPath(), $"tcpproxy-names-{Guid.NewGuid():N}");
    readonly Socket _silentNameServer = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public PrivateNameService(int resolverTimeoutSeconds = 3)
    {
        Directory.CreateDirectory(_directory);
        _silentNameServer.Bind(new IPEndPoint(IPAddress.Parse(NameServer), 53));
        File.WriteAllText(ResolvConf, $"nameserver {NameServer}\noptions timeout:{resolverTimeoutSeconds} attempts:1\n");
        Map();
    }

    string Hosts => Path.Combine(_directory, "hosts");

    string ResolvConf => Path.Combine(_directory, "resolv.conf");

    /// <summary>Rewrites the hosts file in place (the same inode, which the mount shows): each pair is a name and its address.</summary>
    public void Map(params (string Name, string Address)[] entries)
    {
        using var writer = new StreamWriter(new FileStream(Hosts, FileMode.OpenOrCreate, FileAccess.Write));
        writer.BaseStream.SetLength(0);
        writer.Write("127.0.0.1 localhost\n");
        foreach ((string name, string address) in entries)
            writer.Write(address + " " + name + "\n");
    }

    /// <summary>Runs the proxy in a mount namespace of its own with both files mounted.</summary>
    public string[] Launcher =>
    [
        "unshare", "-m", "sh", "-c",
        "mount --bind \"$0\" /etc/hosts && mount --bind \"$1\" /etc/resolv.conf && shift && exec \"$@\"",
        Hosts, ResolvConf,
    ];

    public void Dispose()
    {
        _silentNameServer.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
