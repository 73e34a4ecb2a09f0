using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// Tmds.LibC ships no macOS assembly: a method that names one of its types or
/// members cannot even be compiled on a Mac. So only TcpProxy.Interop.Linux
/// may name it; every other method of the proxy is read here, IL instruction
/// by instruction (locals, parameters, calls, fields, tokens).
/// </summary>
public sealed class PlatformLayeringTests
{
    private const string LinuxLayer = "TcpProxy.Interop.Linux";

    [Theory]
    [InlineData("TcpProxy.Core")]
    [InlineData("tcpproxy")]
    public void OnlyTheLinuxLayer_NamesTmdsLibC(string assemblyName)
    {
        Assembly assembly = Assembly.Load(assemblyName);
        var offenders = new SortedSet<string>();
        foreach (Type type in assembly.GetTypes())
        {
            if (type.Namespace == LinuxLayer || (type.Namespace?.StartsWith(LinuxLayer + ".", StringComparison.Ordinal) ?? false))
                continue;
            foreach (FieldInfo field in type.GetFields(All))
            {
                if (IsTmds(field.FieldType))
                    offenders.Add($"{type.FullName}.{field.Name} (field type)");
            }
            foreach (MethodBase method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
            {
                if (method.DeclaringType != type)
                    continue;
                foreach (string use in TmdsUses(method))
                    offenders.Add($"{type.FullName}.{method.Name}: {use}");
            }
        }
        Assert.True(offenders.Count == 0, "outside Interop/Linux:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void TheCheck_FindsAUseOfTmdsLibC()
    {
        // The Linux layer itself must show up, or the check above proves nothing.
        Type linux = Assembly.Load("TcpProxy.Core").GetTypes().First(t => t.Namespace == LinuxLayer && t.Name == "LinuxSys");
        Assert.Contains(linux.GetMethods(All), m => TmdsUses(m).Any());
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private static bool IsTmds(Type? type)
    {
        while (type is { HasElementType: true })
            type = type.GetElementType();
        return type != null && (type.Assembly.GetName().Name == "Tmds.LibC"
            || (type.IsGenericType && type.GetGenericArguments().Any(IsTmds)));
    }

    private static IEnumerable<string> TmdsUses(MethodBase method)
    {
        if (method is MethodInfo info && IsTmds(info.ReturnType))
            yield return "return type";
        foreach (ParameterInfo parameter in method.GetParameters())
        {
            if (IsTmds(parameter.ParameterType))
                yield return "parameter " + parameter.Name;
        }
        MethodBody? body = method.GetMethodBody();
        if (body is null)
            yield break;
        foreach (LocalVariableInfo local in body.LocalVariables)
        {
            if (IsTmds(local.LocalType))
                yield return "local of type " + local.LocalType.Name;
        }
        byte[] il = body.GetILAsByteArray() ?? [];
        Type[]? typeArguments = method.DeclaringType?.IsGenericType == true ? method.DeclaringType.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            OpCode opCode = OpCodesByValue[value];
            i += opCode.Size;
            int operandSize = OperandSize(opCode.OperandType, il, i);
            if (opCode.OperandType is OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok)
            {
                MemberInfo? member = null;
                try
                {
                    member = method.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments);
                }
                catch (ArgumentException)
                {
                }
                Type? owner = member as Type ?? member?.DeclaringType;
                if (IsTmds(owner) || (member is FieldInfo f && IsTmds(f.FieldType)))
                    yield return opCode.Name + " " + owner!.Name + "." + member!.Name;
            }
            i += operandSize;
        }
    }

    private static int OperandSize(OperandType type, byte[] il, int at) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
        _ => 4,
    };
}
