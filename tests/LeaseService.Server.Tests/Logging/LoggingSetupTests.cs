using System.Text.Json;
using LeaseService.Core;
using LeaseService.DataNodes;
using LeaseService.Server.Logging;
using LeaseService.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting;

namespace LeaseService.Server.Tests.Logging;

/// <summary>Logging:Format picks the console format; the rest comes from the Serilog section.</summary>
public sealed class LoggingSetupTests
{
    private static readonly Dictionary<string, string?> SerilogSection = new()
    {
        ["Serilog:Using:0"] = "Serilog.Sinks.Console",
        ["Serilog:MinimumLevel:Default"] = "Information",
        ["Serilog:WriteTo:0:Name"] = "Console",
        ["Serilog:WriteTo:0:Args:outputTemplate"] = "{Message:lj}{NewLine}",
    };

    [Fact]
    public void JsonFormat_LeaseTransitions_AreOneJsonObjectPerLine()
    {
        var output = Run(new(SerilogSection) { ["Logging:Format"] = "json" });

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().NotBeEmpty();
        var events = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var granted = events.Single(e => e.GetProperty("Properties").GetProperty("EventId").GetProperty("Id").GetInt32() == 1001);
        granted.GetProperty("Level").GetString().Should().Be("Information");
        granted.GetProperty("RenderedMessage").GetString().Should().Contain("granted to \"writer-1\"", "Serilog renders string properties quoted");
        granted.GetProperty("Properties").GetProperty("Path").GetString().Should().Be("/logs/a");
        granted.GetProperty("Properties").GetProperty("Holder").GetString().Should().Be("writer-1");
        granted.GetProperty("Properties").GetProperty("SourceContext").GetString().Should().Be(typeof(LeaseManager).FullName);
        events.Should().Contain(e => e.GetProperty("Properties").GetProperty("EventId").GetProperty("Id").GetInt32() == 1002, "the close is a transition too");
    }

    [Fact]
    public void JsonFormat_KeepsTheSerilogSectionsLevels()
    {
        var output = Run(new(SerilogSection) { ["Logging:Format"] = "json", ["Serilog:MinimumLevel:Default"] = "Warning" });

        output.Should().BeEmpty("grants and closes are Information, below the configured Warning");
    }

    [Fact]
    public void DefaultFormat_WithoutSerilogSection_IsText()
    {
        var output = Run([]);

        output.Should().Contain("INF] LeaseService.Core.LeaseManager: Lease on /logs/a granted to writer-1");
        output.TrimStart().Should().NotStartWith("{");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TextFormat_ControlCharactersInAPath_AreEscaped_NoForgedLine(bool serilogSection)
    {
        // A path may hold any character but NUL. Printed as it was, this one wrote a second line
        // that reads as an event of the server's own, and ESC reached the operator's terminal.
        const string path = "/logs/a\n[07:01:02.345 ERR] LeaseService.Core.LeaseManager: storage write failed\u001b[2J";
        var settings = serilogSection ? new Dictionary<string, string?>(SerilogSection) : [];

        var output = Run(settings, path, sinkFromSection: serilogSection);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(2, output).And.OnlyContain(line => line.Contains(@"/logs/a\n[07:01:02.345 ERR] LeaseService.Core.LeaseManager: storage write failed\u001b[2J"));
        lines[0].Should().EndWith(@"storage write failed\u001b[2J granted to writer-1, epoch 1");
        output.Should().NotContain("\u001b");
    }

    [Fact]
    public void JsonFormat_ControlCharactersInAPath_KeptInTheProperty()
    {
        var output = Run(new(SerilogSection) { ["Logging:Format"] = "json" }, "/logs/a\nb");

        var granted = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).First();
        granted.GetProperty("Properties").GetProperty("Path").GetString().Should().Be("/logs/a\nb", "JSON escapes it already");
    }

    [Theory]
    [InlineData("xml")]
    [InlineData("jsonl")]
    public void UnknownFormat_StopsStartUp_NamingTheKey(string format)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:Format"] = format }).Build();

        var read = () => LoggingSetup.ReadFormat(configuration);

        read.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Logging:Format").And.Contain(format);
    }

    // Serilog's own message names the value only ("The value Info is not a valid Serilog level"),
    // and it was an unhandled exception: a stack trace and exit 134 instead of exit 2.
    [Theory]
    [InlineData("Serilog:MinimumLevel:Default", "Info")]
    [InlineData("Serilog:MinimumLevel", "Warn")]
    [InlineData("Serilog:MinimumLevel:Override:Microsoft", "Critical")]
    public void UnknownSerilogLevel_StopsStartUp_NamingTheKey(string key, string level)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>(SerilogSection.Where(s => !s.Key.StartsWith("Serilog:MinimumLevel", StringComparison.Ordinal))) { [key] = level }).Build();

        var configure = () => LoggingSetup.Configure(new LoggerConfiguration(), configuration);

        configure.Should().Throw<OptionsValidationException>().Which.Message.Should().Be($"{key} must be a Serilog level: Verbose, Debug, Information, Warning, Error, Fatal (was '{level}').");
    }

    [Fact]
    public void SerilogSectionThatCannotBeApplied_StopsStartUp_NamingTheSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>(SerilogSection) { ["Serilog:Using:0"] = "Serilog.Sinks.NoSuchSink" }).Build();

        var configure = () => LoggingSetup.Configure(new LoggerConfiguration(), configuration);

        configure.Should().Throw<OptionsValidationException>().Which.Message.Should().StartWith("The Serilog section cannot be applied: ").And.Contain("Serilog.Sinks.NoSuchSink");
    }

    [Fact]
    public void UnknownSerilogLevel_OnTheCommandLine_FailsTheServerBuild()
    {
        var build = () => LeaseServer.Build(["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Info", "--Metrics:Url=", "--Storage:Provider=InMemory"]);

        build.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Serilog:MinimumLevel:Default");
    }

    [Fact]
    public void UnknownFormat_OnTheCommandLine_FailsTheServerBuild()
    {
        var build = () => LeaseServer.Build(["--urls", "http://127.0.0.1:0", "--Logging:Format=yaml", "--Metrics:Url=", "--Storage:Provider=InMemory"]);

        build.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Logging:Format");
    }

    /// <summary>Opens and closes a file with a LeaseManager logging through the configured Serilog; returns the console output.</summary>
    private static string Run(Dictionary<string, string?> settings, string path = "/logs/a", bool sinkFromSection = false)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var writer = new StringWriter();
        var logger = new LoggerConfiguration();
        if (sinkFromSection)
        {
            // The text format writes through the section's own Console sink: capture what it formats.
            logger.WriteTo.Sink(new WriterSink(new Serilog.Formatting.Display.MessageTemplateTextFormatter(settings["Serilog:WriteTo:0:Args:outputTemplate"]!), writer));
        }

        using (var serilog = LoggingSetup.Configure(logger, configuration, (sinks, formatter) => sinks.Sink(new WriterSink(formatter, writer))).CreateLogger())
        using (ILoggerFactory factory = new SerilogLoggerFactory(serilog))
        {
            var time = new FakeTimeProvider();
            var cluster = new SimulatedDataNodeCluster(new SimulatedDataNodeClusterOptions(), time, NullLogger<SimulatedDataNodeCluster>.Instance);
            var manager = new LeaseManager(new LeaseManagerOptions(), cluster, time, factory.CreateLogger<LeaseManager>());
            manager.AddLeaseAsync("writer-1", path, "host").AsTask().Result.IsOk.Should().BeTrue();
            manager.RemoveLeaseAsync("writer-1", path).AsTask().Result.Value.Should().BeTrue();
        }

        return writer.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private sealed class WriterSink(ITextFormatter formatter, TextWriter writer) : ILogEventSink
    {
        public void Emit(LogEvent logEvent)
        {
            lock (writer)
            {
                formatter.Format(logEvent, writer);
            }
        }
    }
}
