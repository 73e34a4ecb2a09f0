using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

internal static unsafe partial class LinuxSys
{
    public static DescriptorKind KindOf(int fd, out int error)
    {
        stat status;
        if (fstat(fd, &status) < 0)
        {
            error = errno;
            return DescriptorKind.Closed;
        }
        error = 0;
        mode_t mode = status.st_mode;
        if (S_ISFIFO(mode))
            return DescriptorKind.Pipe;
        if (S_ISSOCK(mode))
            return DescriptorKind.Socket;
        if (S_ISCHR(mode))
            return DescriptorKind.CharacterDevice;
        return DescriptorKind.RegularFile;
    }

    public static int FileIdentity(int fd, out ulong device, out ulong inode)
    {
        stat status;
        if (fstat(fd, &status) < 0)
        {
            device = inode = 0;
            return -errno;
        }
        device = status.st_dev;
        inode = status.st_ino;
        return 0;
    }

    // Linux reopens an anonymous pipe through /proc: a new open file
    // description of the same pipe, whose O_NONBLOCK nobody else shares.
    public static int ReopenNonBlocking(int fd)
    {
        byte* path = stackalloc byte[32];
        int length = Encoding.ASCII.GetBytes("/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture), new System.Span<byte>(path, 31));
        path[length] = 0;
        return Result(open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0));
    }

    public static int OpenForAppend(byte* path) =>
        Result(open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0b110_100_100));

    public static long Write(int fd, byte* data, int length) => Result((long)write(fd, data, length));

    /// <summary>
    /// Reads a small /proc file whole: open, read until EOF or the buffer is
    /// full, close — no stat and no lock, as FileStream would add. The byte
    /// count, or -errno.
    /// </summary>
    public static int ReadProcFile(string path, System.Span<byte> buffer)
    {
        byte* name = stackalloc byte[64];
        int length = Encoding.ASCII.GetBytes(path, new System.Span<byte>(name, 63));
        name[length] = 0;
        int fd = open(name, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        int total = 0;
        fixed (byte* data = buffer)
        {
            while (total < buffer.Length)
            {
                long n = read(fd, data + total, buffer.Length - total);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                {
                    int error = n < 0 ? errno : 0;
                    close(fd);
                    return error != 0 ? -error : total;
                }
                total += (int)n;
            }
        }
        close(fd);
        return total;
    }

    public static long SendWithoutWaiting(int fd, byte* data, int length) =>
        Result((long)send(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL));
}
