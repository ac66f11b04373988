package main

// A kind is one Mastodon worker as the bench models it: the queue its
// sidekiq_options name, what one job costs (each a heavy-tailed draw), and
// the jobs it enqueues when it runs (the fan-out). jobs.rb reads the kinds
// as JSON and draws every number from the job's own seed, so every layout
// is offered the same jobs, children included.
type kind struct {
	Queue string `json:"queue"`
	// CPU is Ruby work, spent on the thread's CPU clock.
	CPU dist `json:"cpu_ms"`
	// DB is time waiting on Postgres beyond the real queries (pg_sleep on
	// a pooled connection: lock waits, slow plans).
	DB dist `json:"db_ms"`
	// Queries are real statements on the bench's table, on the same
	// pooled connection: "insert" (a status row, unique uri) and "select"
	// (an account's 20 newest, by an index).
	Queries []string `json:"queries,omitempty"`
	// IO is waiting on the network (sleep). A share TimeoutP of the jobs
	// wait TimeoutMs instead: a remote server that does not answer.
	IO        dist    `json:"io_ms"`
	TimeoutP  float64 `json:"timeout_p,omitempty"`
	TimeoutMs float64 `json:"timeout_ms,omitempty"`
	Fanout    []child `json:"fanout,omitempty"`
}

// dist is a lognormal draw, median·e^(sigma·Z), capped at Max: most jobs
// are cheap and a few are very dear, as service times are. Sigma 0 is a
// constant.
type dist struct {
	Median float64 `json:"median"`
	Sigma  float64 `json:"sigma,omitempty"`
	Max    float64 `json:"max,omitempty"`
}

// child is what one job enqueues: Count jobs of Kind (a draw, floored),
// or one with probability P when Count is zero.
type child struct {
	Kind  string  `json:"kind"`
	Count dist    `json:"count,omitempty"`
	P     float64 `json:"p,omitempty"`
}

// kinds, by Mastodon's own workers (paths in mastodon/mastodon, v4.3):
//
//   - status: ActivityPub::ProcessingWorker (ingress) handling a Create
//     (app/lib/activitypub/activity/create.rb): it stores the status and
//     calls DistributionWorker.perform_async (default), crawls the first
//     link with LinkCrawlWorker (pull: sidekiq_options queue 'pull') and
//     notifies mentioned local accounts (LocalNotificationWorker, default).
//   - fetch: a pull job that brings a status (FetchReplyWorker,
//     ThreadResolveWorker: ActivityPub::FetchRemoteStatusService), a
//     signed GET to another server, then the same processing as status.
//   - distribution: DistributionWorker (default): FanOutOnWriteService
//     pushes the status to each local follower's home feed,
//     FeedInsertWorker.push_bulk over the followers, one job each
//     (app/services/fan_out_on_write_service.rb).
//   - feed_insert: FeedInsertWorker (default): a filter query and a Redis
//     ZADD per follower.
//   - notify: LocalNotificationWorker (default).
//   - link_crawl: LinkCrawlWorker (pull): FetchLinkCardService, an HTTP
//     GET of a page and its parse.
//   - ap_distribution: ActivityPub::DistributionWorker (push) for a local
//     post: one ActivityPub::DeliveryWorker per follower inbox
//     (push_bulk).
//   - deliver: ActivityPub::DeliveryWorker (push): a signed POST. A
//     server that does not answer costs the connect timeout, 5 s
//     (app/lib/request.rb: TIMEOUT connect_timeout 5, read_timeout 10).
//   - mail: ActionMailer's delivery (mailers): an SMTP round trip.
//   - scheduler: the cron jobs (scheduler): longer queries.
//
// Where the numbers come from. The local followers a status reaches are
// the fan-out's heavy tail: the seeds' Compendium (seed 000) describes a
// 22,000-follower account whose posts back Sidekiq up, and follower counts
// on Mastodon are reported to be heavy-tailed; the median of 3 and the
// sigma are the bench's assumption for a small instance (most remote
// authors are followed by one or two local accounts), capped at 2,000.
// The share of statuses with a link (25%) and with a local mention (10%)
// are assumptions too. The network waits' medians are a round trip to
// another server (tens to hundreds of ms) with a lognormal tail capped at
// the read timeout; 3% of deliveries time out. CPU medians are a few ms
// per job (JSON-LD parsing and signatures dominate), tails to 50-200 ms.
// The bench compares layouts under one mix; it does not claim a real
// instance's absolute numbers.
var kinds = map[string]kind{
	"status": {Queue: "ingress", CPU: dist{6, 0.8, 150}, DB: dist{2, 1, 200}, Queries: []string{"insert", "select"},
		Fanout: []child{{Kind: "distribution", P: 1}, {Kind: "link_crawl", P: 0.25}, {Kind: "notify", P: 0.1}}},
	"fetch": {Queue: "pull", CPU: dist{6, 0.8, 150}, DB: dist{2, 1, 200}, Queries: []string{"insert", "select"}, IO: dist{150, 1, 10000},
		Fanout: []child{{Kind: "distribution", P: 1}, {Kind: "link_crawl", P: 0.25}}},
	"distribution": {Queue: "default", CPU: dist{2, 0.6, 50}, Queries: []string{"select"},
		Fanout: []child{{Kind: "feed_insert", Count: dist{3, 1.4, 2000}}}},
	"feed_insert": {Queue: "default", CPU: dist{1, 0.6, 30}, Queries: []string{"select"}},
	"notify":      {Queue: "default", CPU: dist{2, 0.6, 30}, Queries: []string{"insert", "select"}},
	"link_crawl":  {Queue: "pull", CPU: dist{8, 0.8, 200}, Queries: []string{"select"}, IO: dist{300, 1, 10000}},
	"deliver":     {Queue: "push", CPU: dist{1.5, 0.5, 20}, IO: dist{80, 1, 10000}, TimeoutP: 0.03, TimeoutMs: 5000},
	"mail":        {Queue: "mailers", CPU: dist{1, 0.3, 10}, IO: dist{100, 0.5, 2000}},
	"scheduler":   {Queue: "scheduler", CPU: dist{5, 0.5, 50}, DB: dist{20, 0.5, 500}, Queries: []string{"select"}},
	// A popular local post: PostStatusService (in web) enqueues both.
	"post_distribution": {Queue: "default", CPU: dist{Median: 5}, Queries: []string{"select"},
		Fanout: []child{{Kind: "feed_insert", Count: dist{Median: 1}}}}, // Count set by the shape
	"ap_distribution": {Queue: "push", CPU: dist{Median: 10}, Queries: []string{"select"},
		Fanout: []child{{Kind: "deliver", Count: dist{Median: 1}}}}, // Count set by the shape
}

// queues are the queues the kinds run on: every one is measured and must
// run every job it was given.
var queues = []string{"default", "push", "ingress", "pull", "mailers", "scheduler"}
