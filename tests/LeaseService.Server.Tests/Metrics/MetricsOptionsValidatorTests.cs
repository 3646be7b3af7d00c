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
    [InlineData("")]
    [InlineData(null)]
    public void Valid_OrEmptyToDisable(string? url)
        => new MetricsOptionsValidator().Validate(null, new MetricsOptions { Url = url }).Succeeded.Should().BeTrue();

    [Theory]
    [InlineData("https://localhost:9464", "scheme")]
    [InlineData("http://localhost:9464/metrics", "path")]
    [InlineData("localhost:9464", "not a URL")]
    [InlineData("http://unix:/tmp/metrics.sock", "host")]
    public void Invalid_FailureNamesTheKeyAndTheProblem(string url, string problem)
    {
        var result = new MetricsOptionsValidator().Validate(null, new MetricsOptions { Url = url });

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().StartWith("Metrics:Url ").And.Contain(url).And.Contain(problem);
    }
}
