using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A network namespace of the test's own (unique name with the PID), with
/// loopback up: the proxy runs in it through `ip netns exec`, the test's
/// sockets are created in it by a thread that joined it (setns), and its
/// firewall rules touch nothing outside. Deleted, with its /etc/netns files,
/// on Dispose.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    const int CLONE_NEWNET = 0x40000000;
    static int created;
    bool disposed;

    NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>The command prefix that runs a program inside.</summary>
    public string[] Launcher => ["ip", "netns", "exec", Name];

    string EtcDirectory => "/etc/netns/" + Name;

    public static NetworkNamespace Create()
    {
        var ns = new NetworkNamespace($"tcpproxy-test-{Environment.ProcessId}-{Interlocked.Increment(ref created)}");
        Run("ip", "netns", "add", ns.Name);
        try
        {
            ns.Exec("ip", "link", "set", "lo", "up");
        }
        catch
        {
            ns.Dispose();
            throw;
        }
        return ns;
    }

    /// <summary>Runs a command inside (iptables, ip); throws with its stderr if it fails.</summary>
    public void Exec(params string[] command) => Run(["ip", "netns", "exec", Name, .. command]);

    /// <summary>What /etc/hosts says to programs run through <see cref="Launcher"/> (ip netns exec bind-mounts it).</summary>
    public void SetHosts(string content)
    {
        Directory.CreateDirectory(EtcDirectory);
        File.WriteAllText(Path.Combine(EtcDirectory, "hosts"), content);
    }

    /// <summary>Runs work on a fresh thread that joined the namespace: sockets it creates live inside.</summary>
    public T Inside<T>(Func<T> work)
    {
        using var handle = File.OpenHandle("/var/run/netns/" + Name);
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
                    throw new InvalidOperationException($"setns into {Name} failed: errno {Marshal.GetLastPInvokeError()}");
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { IsBackground = true, Name = "in-" + Name };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("work inside the namespace did not finish within 30 s");
        if (failure is not null)
            throw new InvalidOperationException("inside " + Name + ": " + failure.Message, failure);
        return result;
    }

    static void Run(params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in command[1..]) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + command[0]);
        string stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            process.Kill();
            throw new TimeoutException(string.Join(' ', command) + " did not finish within 10 s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{string.Join(' ', command)} exited with {process.ExitCode}: {stderr.Trim()}");
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        try { Run("ip", "netns", "del", Name); }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        try { if (Directory.Exists(EtcDirectory)) Directory.Delete(EtcDirectory, recursive: true); }
        catch (IOException) { }
    }

    [DllImport("libc", SetLastError = true)]
    static extern int setns(int fd, int nstype);
}
