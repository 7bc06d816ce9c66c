using System.Runtime.CompilerServices;

namespace UserStack.Tests.Support;

/// <summary>
/// Names the RFC rule a test shows: <c>[Rfc(9293, "MUST-16")]</c>, or a section for RFCs
/// without numbered requirements (<c>[Rfc(5961, "3.2")]</c>). `ustack rfc-matrix` reads these
/// (with the `// rfc:` lines of the packetdrill scripts) into docs/rfc-matrix.md; every name must be a
/// row of docs/rfc/requirements.tsv. The compiler fills in the file, so the matrix can link to it.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class RfcAttribute(int rfc, string requirement, [CallerFilePath] string file = "") : Attribute
{
    public int Rfc { get; } = rfc;
    public string Requirement { get; } = requirement;
    public string File { get; } = file;
}
