using static TcpProxy.Interop.Darwin.DarwinConstants;

namespace TcpProxy.Interop.Darwin;

internal static unsafe partial class DarwinSys
{
    private static int FStat(int fd, DarwinStat* status) =>
        IsArm64 ? DarwinLibC.FStatArm64(fd, status) : DarwinLibC.FStatX64(fd, status);

    public static DescriptorKind KindOf(int fd, out int error)
    {
        DarwinStat status;
        if (FStat(fd, &status) < 0)
        {
            error = LastError();
            return DescriptorKind.Closed;
        }
        error = 0;
        return (status.Mode & S_IFMT) switch
        {
            S_IFIFO => DescriptorKind.Pipe,
            S_IFSOCK => DescriptorKind.Socket,
            S_IFCHR => DescriptorKind.CharacterDevice,
            _ => DescriptorKind.RegularFile,
        };
    }

    public static int FileIdentity(int fd, out ulong device, out ulong inode)
    {
        DarwinStat status;
        if (FStat(fd, &status) < 0)
        {
            device = inode = 0;
            return -LastError();
        }
        // dev_t is a signed 32-bit int: systemd would print it as unsigned.
        device = (uint)status.Device;
        inode = status.Inode;
        return 0;
    }

    /// <summary>
    /// macOS has no /proc to reopen through. A terminal, a device or a named
    /// FIFO has a path (fcntl F_GETPATH) and is reopened by it: a private
    /// description, as on Linux. An anonymous pipe has none and cannot be
    /// reopened at all; it is duplicated and O_NONBLOCK set on the shared
    /// description — which whoever else holds that pipe (rarely anyone but
    /// the process that reads it) then sees too. Sockets refuse (ENXIO).
    /// </summary>
    public static int ReopenNonBlocking(int fd)
    {
        DescriptorKind kind = KindOf(fd, out int error);
        if (kind == DescriptorKind.Closed)
            return -error;
        if (kind == DescriptorKind.Socket)
            return -Errno.ENXIO;
        byte* path = stackalloc byte[MAXPATHLEN];
        if (Fcntl(fd, F_GETPATH, (nint)path) == 0)
            return Result(Open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0));
        int copy = Result(DarwinLibC.Dup(fd));
        if (copy < 0)
            return copy;
        int rc = MakeNonBlockingCloseOnExec(copy);
        if (rc < 0)
        {
            DarwinLibC.Close(copy);
            return rc;
        }
        return copy;
    }

    public static int OpenForAppend(byte* path) =>
        Result(Open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0b110_100_100));

    /// <summary>The EMFILE spare: one descriptor, nothing more.</summary>
    public static int OpenDevNull()
    {
        byte* path = stackalloc byte[] { (byte)'/', (byte)'d', (byte)'e', (byte)'v', (byte)'/', (byte)'n', (byte)'u', (byte)'l', (byte)'l', 0 };
        return Result(Open(path, O_WRONLY | O_CLOEXEC, 0));
    }
}
