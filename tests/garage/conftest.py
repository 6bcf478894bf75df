"""Prints the interop verdicts as a table at the end of the run."""


def pytest_terminal_summary(terminalreporter):
    from test_interop import RESULTS

    if not RESULTS:
        return
    header = (
        "case",
        "expected",
        "Garage/ours",
        "Garage/boto3",
        "S3Verifier/ours",
        "S3Verifier/boto3",
    )
    widths = [max(len(str(row[i])) for row in [header, *RESULTS]) for i in range(len(header))]
    terminalreporter.section("Garage interop verdicts")
    for row in [header, *RESULTS]:
        terminalreporter.write_line("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
