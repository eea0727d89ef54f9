#!/usr/bin/env python3
"""Summarises gate runs: per cell, the spread of each method's ratios over the runs' first passes,
the re-measured cells and each run's verdict; with --reference, prints gate-reference.tsv instead
(per cell, the median ratio to the baseline over the runs).

Usage: benchmarks/tools/gate-stats.py [--reference] DIR... (directories of *-summary.json files)
"""
import glob
import json
import statistics
import sys


def main(argv):
    reference = '--reference' in argv
    dirs = [a for a in argv if a != '--reference']
    files = sorted(f for d in dirs for f in glob.glob(d + '/gate-*-summary.json'))
    if not files:
        sys.exit('gate-stats: no gate-*-summary.json in ' + ' '.join(dirs))
    cells = {}
    repeats = []
    failed = 0
    for f in files:
        summary = json.load(open(f))
        for row in summary['rows']:
            for method, score in row['scores'].items():
                key = (method, row['arch'], row['memory'], row['frames'])
                cells.setdefault(key, []).append(score)
        repeats += summary.get('repeats', [])
        failed += bool(summary['failures'])
    if reference:
        print('# Reference ratios of the gate: per method, plugin, memory and N, the median ratio of best CPU time')
        print('# per frame to the in-run baseline over %d gate runs (benchmarks/tools/gate-stats.py --reference).' % len(files))
        print('# The gate re-measures a cell whose ratio exceeds its reference times 1 + Gate.TOLERANCE.')
        print('# method\tarch\tmemory\tframes\tratio')
        for (method, arch, memory, frames), scores in sorted(cells.items()):
            if method in ('baseline', 'floor'):
                continue
            print('%s\t%s\t%s\t%d\t%.3f' % (method, arch, memory, frames,
                                           statistics.median(s['bestRatio'] for s in scores)))
        return
    print('%d runs, %d failed; %d cells re-measured, %d of them over the limit in every repeat'
          % (len(files), failed, len(repeats), sum(r['failed'] for r in repeats)))
    print('%-14s %-7s %-6s %5s | %-24s | %-24s | %s' % ('method', 'arch', 'memory', 'N', 'to baseline min/med/max',
                                                        'to floor min/med/max', 'best CPU ns/frame min..max'))
    for (method, arch, memory, frames), scores in sorted(cells.items(), key=lambda kv: kv[0][1:] + kv[0][:1]):
        base = [s['bestRatio'] for s in scores]
        floor = [s['bestRatioToFloor'] for s in scores]
        ns = [s['bestCpuNsPerFrame'] for s in scores]
        print('%-14s %-7s %-6s %5d | %5.2f %5.2f %5.2f (%+4.0f%%) | %5.2f %5.2f %5.2f (%+4.0f%%) | %.3f..%.3f' % (
            method, arch, memory, frames,
            min(base), statistics.median(base), max(base), 100 * (max(base) / statistics.median(base) - 1),
            min(floor), statistics.median(floor), max(floor), 100 * (max(floor) / statistics.median(floor) - 1),
            min(ns), max(ns)))
    for r in repeats:
        print('re-measured: %s %s %s N=%d: %.2f (limit %.2f), repeats %s%s' % (
            r['method'], r['arch'], r['memory'], r['frames'], r['first'], r['limit'],
            ' '.join('%.2f' % x for x in r['repeats']), ', FAILED' if r['failed'] else ''))


if __name__ == '__main__':
    main(sys.argv[1:])
