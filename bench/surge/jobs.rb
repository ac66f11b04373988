# The surge benchmark's job: a synthetic, Mastodon-like unit of work whose
# shape comes from its arguments (bench/surge/README.md gives the mix):
#   db_ms:  a real query (pg_sleep) holding a connection from a pool of
#           DB_POOL connections, as a Rails job holds one of ActiveRecord's;
#   io_ms:  waiting on the network (sleep): HTTP deliveries and fetches;
#   cpu_ms: a busy loop: Ruby's lock makes threads beyond the CPUs worth
#           less, which is what makes -c a real choice.
# A server middleware records, for every job, its queue and how long it
# waited from enqueue to start, into Redis (bench:lat), and counts jobs
# done (bench:done:<queue>).
require "sidekiq"
require "pg"
require "connection_pool"

DB = ConnectionPool.new(size: Integer(ENV.fetch("DB_POOL", "5")), timeout: 60) do
  PG.connect(ENV.fetch("BENCH_PG"))
end

class BenchLatency
  def call(_worker, job, queue)
    started = Time.now.to_f
    waited_ms = ((started - job["enqueued_at"].to_f) * 1000).round
    Sidekiq.redis { |c| c.rpush("bench:lat", "#{queue} #{waited_ms} #{started}") }
    yield
    Sidekiq.redis { |c| c.incr("bench:done:#{queue}") }
  end
end

Sidekiq.configure_server do |config|
  config.server_middleware { |chain| chain.add BenchLatency }
end

class BenchJob
  include Sidekiq::Worker
  sidekiq_options retry: false

  def perform(db_ms, io_ms, cpu_ms)
    DB.with { |c| c.exec_params("SELECT pg_sleep($1)", [db_ms / 1000.0]) } if db_ms > 0
    sleep(io_ms / 1000.0) if io_ms > 0
    stop = Process.clock_gettime(Process::CLOCK_MONOTONIC) + cpu_ms / 1000.0
    x = 0
    x += 1 while Process.clock_gettime(Process::CLOCK_MONOTONIC) < stop
  end
end
