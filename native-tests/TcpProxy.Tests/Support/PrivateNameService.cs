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
    // Tries for a loopback address nobody else holds port 53 on (another test run on the machine may hold one).
    const int AddressAttempts = 20;

    readonly string _directory = Path.Combine(Path.GetTempPath(), $"tcpproxy-names-{Guid.NewGuid():N}");
    readonly Socket _silentNameServer = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public PrivateNameService(int resolverTimeoutSeconds = 3)
    {
        Directory.CreateDirectory(_directory);
        IPAddress nameServer = BindSilentNameServer();
        File.WriteAllText(ResolvConf, $"nameserver {nameServer}\noptions timeout:{resolverTimeoutSeconds} attempts:1\n");
        Map();
    }

    // A nameserver listens on port 53 whatever its address: this one gets a random 127.x.y.z of its own.
    IPAddress BindSilentNameServer()
    {
        for (int attempt = 1; ; attempt++)
        {
            var address = new IPAddress([127, (byte)Random.Shared.Next(100, 250), (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(1, 255)]);
            try
            {
                _silentNameServer.Bind(new IPEndPoint(address, 53));
                return address;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < AddressAttempts)
            {
            }
        }
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
