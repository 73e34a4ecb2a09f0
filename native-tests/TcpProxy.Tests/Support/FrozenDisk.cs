using System;
using System.Diagnostics;
using System.IO;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A small ext4 file system on a loop device that the test can freeze
/// (fsfreeze): every write to it then waits, in the kernel, until it is
/// thawed — a stuck disk or NFS mount, on demand. Root only. Dispose thaws,
/// unmounts and deletes it.
/// </summary>
public sealed class FrozenDisk : IDisposable
{
    readonly string image;
    bool mounted;
    bool frozen;

    FrozenDisk(string directory)
    {
        Directory.CreateDirectory(directory);
        image = directory + ".img";
        MountPoint = directory;
    }

    public string MountPoint { get; }

    public static FrozenDisk Create()
    {
        var disk = new FrozenDisk(Path.Combine(Path.GetTempPath(), $"tcpproxy-frozen-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        try
        {
            Run("truncate", "-s", "16M", disk.image);
            Run("mkfs.ext4", "-q", "-F", disk.image);
            Run("mount", "-o", "loop", disk.image, disk.MountPoint);
            disk.mounted = true;
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    public void Freeze()
    {
        Run("fsfreeze", "-f", MountPoint);
        frozen = true;
    }

    public void Thaw()
    {
        if (!frozen) return;
        Run("fsfreeze", "-u", MountPoint);
        frozen = false;
    }

    public void Dispose()
    {
        try { Thaw(); } catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        if (mounted)
        {
            try { Run("umount", MountPoint); mounted = false; }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        }
        try { if (!mounted) Directory.Delete(MountPoint, recursive: true); } catch (IOException) { }
        try { File.Delete(image); } catch (IOException) { }
    }

    static void Run(params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in command[1..]) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + command[0]);
        if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
        {
            process.Kill();
            throw new TimeoutException(string.Join(' ', command) + " did not finish within 20 s");
        }
        string stderr = process.StandardError.ReadToEnd();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{string.Join(' ', command)} exited with {process.ExitCode}: {stderr.Trim()}");
    }
}
