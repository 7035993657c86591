using FsCheck.Fluent;
using Sessions.Cluster.Core;

namespace Sessions.Cluster.Core.Tests;

[Trait("Category", "Unit")]
public sealed class KeyRulesTests
{
    [Theory]
    [InlineData("proj", "sess", null)]
    [InlineData("-home-USER-projects-spotter", "4d5611e5-241a-462a-8d15-5122611a9569", "subagents/agent-a2898e3")]
    [InlineData("tenant.project", "s_1", "subagents/agent-acompact-946d2b")]
    public void Validate_SdkStyleKeys_AreAccepted(string projectKey, string sessionId, string? subpath)
    {
        var key = new SessionKey(projectKey, sessionId, subpath);
        Assert.Equal((projectKey, sessionId, subpath), (key.ProjectKey, key.SessionId, key.Subpath));
        Assert.True(SessionKey.TryCreate(projectKey, sessionId, out var main));
        Assert.Equal(key.Main, main);
    }

    [Theory]
    [InlineData("", "s", null)]
    [InlineData("a/b", "s", null)]
    [InlineData("a\\b", "s", null)]
    [InlineData("..", "s", null)]
    [InlineData(".", "s", null)]
    [InlineData("a..b", "s", null)]
    [InlineData("a\0b", "s", null)]
    [InlineData("a%2Fb", "s", null)]
    [InlineData("p", "", null)]
    [InlineData("p", "s/t", null)]
    [InlineData("p", "s", "")]
    [InlineData("p", "s", "/abs")]
    [InlineData("p", "s", "a//b")]
    [InlineData("p", "s", "a/../b")]
    [InlineData("p", "s", "trailing/")]
    public void Validate_UnsafeKeys_ThrowInvalidKeyWithAMessage(string projectKey, string sessionId, string? subpath)
    {
        var ex = Assert.Throws<InvalidKeyException>(() => new SessionKey(projectKey, sessionId, subpath));
        Assert.Equal("invalid_key", ex.Code);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        // No other way to make the key gets past the rules: not `with`, not TryCreate.
        var valid = new SessionKey("p", "s");
        Assert.Throws<InvalidKeyException>(() => valid with { ProjectKey = projectKey, SessionId = sessionId, Subpath = subpath });
        if (subpath is null)
        {
            Assert.False(SessionKey.TryCreate(projectKey, sessionId, out _));
        }
    }

    [Fact]
    public void Validate_AnyGeneratedKey_EitherRejectedOrStaysASinglePathSegment()
    {
        var chars = Gen.Elements("ab/\\.%:\0\n é-_😀".ToCharArray());
        var keys = Gen.ArrayOf(chars).Select(a => new string(a)).Sample(2000);
        foreach (var key in keys)
        {
            bool accepted;
            try
            {
                KeyRules.ValidateProjectKey(key);
                accepted = true;
            }
            catch (InvalidKeyException)
            {
                accepted = false;
            }

            if (accepted)
            {
                var root = Path.GetFullPath("/data/root");
                var full = Path.GetFullPath(Path.Combine(root, key));
                Assert.Equal(root, Path.GetDirectoryName(full));
                Assert.Equal(key, Path.GetFileName(full));
            }
        }
    }
}
