using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;

namespace TcpProxy.Tests.Support;

/// <summary>
/// Every type a type names in its compiled form: base type, interfaces,
/// fields, signatures, locals, and each token of each method body's IL
/// (calls, field accesses, type tokens). What the layering tests read.
/// </summary>
internal static class IlReferences
{
    public const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The types named by one type's own members (not its nested types').</summary>
    public static IEnumerable<Type> TypesNamedBy(Type type)
    {
        if (type.BaseType != null)
            yield return type.BaseType;
        foreach (Type implemented in type.GetInterfaces())
            yield return implemented;
        foreach (FieldInfo field in type.GetFields(Declared))
            yield return field.FieldType;
        foreach (MethodBase method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            foreach ((Type named, string _) in TypesNamedBy(method))
                yield return named;
        }
    }

    /// <summary>The types one method names, each with where: "return type", "parameter x", "call Sys.Read".</summary>
    public static IEnumerable<(Type Type, string Where)> TypesNamedBy(MethodBase method)
    {
        if (method is MethodInfo info)
            yield return (info.ReturnType, "return type");
        foreach (ParameterInfo parameter in method.GetParameters())
            yield return (parameter.ParameterType, "parameter " + parameter.Name);
        MethodBody? body = method.GetMethodBody();
        if (body is null)
            yield break;
        foreach (LocalVariableInfo local in body.LocalVariables)
            yield return (local.LocalType, "local of type " + local.LocalType.Name);
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
                if ((member as Type ?? member?.DeclaringType) is Type owner)
                    yield return (owner, opCode.Name + " " + owner.Name + "." + member!.Name);
                if (member is FieldInfo field)
                    yield return (field.FieldType, opCode.Name + " " + field.Name);
                if (member is MethodInfo called)
                {
                    yield return (called.ReturnType, opCode.Name + " " + called.Name);
                    foreach (ParameterInfo parameter in called.GetParameters())
                        yield return (parameter.ParameterType, opCode.Name + " " + called.Name);
                }
            }
            i += operandSize;
        }
    }

    /// <summary>A type and what it is made of: the element of an array or pointer, the arguments of a generic.</summary>
    public static IEnumerable<Type> Constituents(Type? type)
    {
        while (type is { HasElementType: true })
            type = type.GetElementType();
        if (type is null)
            yield break;
        yield return type;
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            foreach (Type argument in type.GetGenericArguments())
            {
                foreach (Type inner in Constituents(argument))
                    yield return inner;
            }
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
