# The surge benchmark's load: a flood of pull and ingress jobs at once (a
# federation surge: the seeds' instance had 200,000 queued), on top of a
# steady stream of default, push, mailers and scheduler jobs for the run.
# Arguments: SURGE_PER_QUEUE STEADY_SECONDS; the mix is the JSON in MIX.
require "sidekiq"
require "json"

Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

surge, seconds = Integer(ARGV[0]), Float(ARGV[1])
mix = JSON.parse(ENV.fetch("MIX"))
counts = Hash.new(0)
push = ->(queue, n) do
  counts[queue] += n
  m = mix.fetch(queue)
  args = Array.new(n) { [m["db_ms"], m["io_ms"], m["cpu_ms"]] }
  args.each_slice(1000) { |slice| Sidekiq::Client.push_bulk("class" => "BenchJob", "queue" => queue, "args" => slice) }
end
%w[pull ingress].each { |q| push.(q, surge) }
$stdout.puts "surge enqueued"
$stdout.flush
steady = mix.select { |_, m| m["per_second"].to_f > 0 }
# By the clock, not by ticks: however slow a tick is on a loaded machine,
# each queue gets per_second x elapsed jobs, so every layout is offered the
# same steady load.
start = Time.now
sent = Hash.new(0)
loop do
  elapsed = [Time.now - start, seconds].min
  steady.each do |q, m|
    n = (m["per_second"].to_f * elapsed).floor - sent[q]
    next if n <= 0
    sent[q] += n
    push.(q, n)
  end
  break if elapsed >= seconds
  sleep 0.1
end
$stdout.puts "enqueued #{JSON.generate(counts)}"
