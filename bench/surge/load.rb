# The surge benchmark's load: a flood of pull and ingress jobs at once (a
# federation surge: the seeds' instance had 200,000 queued), on top of a
# steady stream of default, push, mailers and scheduler jobs for the run.
# Arguments: SURGE_PER_QUEUE STEADY_SECONDS; the mix is the JSON in MIX.
require "sidekiq"
require "json"

Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

surge, seconds = Integer(ARGV[0]), Float(ARGV[1])
mix = JSON.parse(ENV.fetch("MIX"))
push = ->(queue, n) do
  m = mix.fetch(queue)
  args = Array.new(n) { [m["db_ms"], m["io_ms"], m["cpu_ms"]] }
  args.each_slice(1000) { |slice| Sidekiq::Client.push_bulk("class" => "BenchJob", "queue" => queue, "args" => slice) }
end
%w[pull ingress].each { |q| push.(q, surge) }
$stdout.puts "surge enqueued"
$stdout.flush
steady = mix.select { |_, m| m["per_second"].to_f > 0 }
start = Time.now
owed = Hash.new(0.0)
tick = 0.1
while Time.now - start < seconds
  steady.each do |q, m|
    owed[q] += m["per_second"].to_f * tick
    n = owed[q].floor
    next if n.zero?
    owed[q] -= n
    push.(q, n)
  end
  sleep tick
end
$stdout.puts "steady done"
