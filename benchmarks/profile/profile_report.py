"""The report both profile summarisers print: a headline with the shares by kind, then the top
frames by exclusive and by inclusive share."""


def print_report(headline, total, kinds, exclusive, inclusive, top_exclusive, top_inclusive):
    print(f"{headline}: " + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in kinds.most_common()))
    for title, counts, top in (("exclusive", exclusive, top_exclusive), ("inclusive", inclusive, top_inclusive)):
        print(f"-- {title} --")
        for name, value in counts.most_common(top):
            print(f"{100 * value / total:5.1f}%  {name}")
