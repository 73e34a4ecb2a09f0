set terminal pngcairo size 1400,900 font "sans,10"
set output "chart.png"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set xtics rotate by -30
set key top left
set multiplot layout 2,2 title "2026-11-28 18:13 UTC: proxies side by side (medians)"
unset logscale y
set yrange [0:*]
set title "Bulk throughput (MB/s, higher is better)"
plot "bulk.dat" using 2:xtic(1) title "1 connection", "bulk.dat" using 3 title "20 connections"
set logscale y
set yrange [*:*]
set title "Round trip, 1 connection (µs, log, lower is better)"
plot "rtt1.dat" using 2:xtic(1) title "p50", "rtt1.dat" using 3 title "p99", "rtt1.dat" using 4 title "p99.9"
set logscale y
set yrange [*:*]
set title "Round trip, 100 connections (µs, log, lower is better)"
plot "rtt100.dat" using 2:xtic(1) title "p50", "rtt100.dat" using 3 title "p99", "rtt100.dat" using 4 title "p99.9"
unset logscale y
set yrange [0:*]
set title "Private memory per idle pair (KiB, lower is better)"
plot "idle.dat" using 2:xtic(1) notitle
unset multiplot
