global using NUnit.Framework;
global using RfcAttribute = UserStack.Tests.Support.RfcAttribute;
