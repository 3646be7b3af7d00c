using LeaseService.Server.Metrics;

namespace LeaseService.Server.Tests.Metrics;

public sealed class MetricsOptionsValidatorTests
{
    [Theory]
    [InlineData("http://localhost:9464")]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://+:9464")]
    [InlineData("http://*:9464")]
    [InlineData("http://0.0.0.0:9464")]
    [InlineData("http://[::]:9464")]
    [InlineData("http://metrics.internal:9464/")]
    [InlineData("http://[::1]:9464")]
    [InlineData("http://127.0.0.1:65535")]
    [InlineData("")]
    [InlineData(null)]
    public void Valid_OrEmptyToDisable(string? url)
        => new MetricsOptionsValidator().Validate(null, new MetricsOptions { Url = url }).Succeeded.Should().BeTrue();

    [Theory]
    [InlineData("https://localhost:9464", "scheme")]
    [InlineData("http://localhost:9464/metrics", "path")]
    [InlineData("localhost:9464", "not a URL")]
    [InlineData("http://unix:/tmp/metrics.sock", "host")]
    // Kestrel reads these as the host "127.0.0.1:abc" on port 80 (served on every interface), or
    // fails to bind deep inside (a port beyond 65535).
    [InlineData("http://127.0.0.1:abc", "has a port that is not a number")]
    [InlineData("http://[::1]:abc", "has a port that is not a number")]
    [InlineData("http://localhost:", "has a port that is not a number")]
    [InlineData("http://127.0.0.1:99999", "has port 99999, outside 0 to 65535")]
    [InlineData("http://127.0.0.1:-1", "has port -1, outside 0 to 65535")]
    public void Invalid_FailureNamesTheKeyAndTheProblem(string url, string problem)
    {
        var result = new MetricsOptionsValidator().Validate(null, new MetricsOptions { Url = url });

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().StartWith("Metrics:Url ").And.Contain(url).And.Contain(problem);
    }
}
