%% @doc Request and error counters by path and status, rendered in the
%% Prometheus text exposition format (version 0.0.4).
-module(erlsvc_metrics).
-behaviour(gen_server).

-export([start_link/0, inc/2, render/0, count/2]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(TAB, erlsvc_metrics).

-spec start_link() -> {ok, pid()} | ignore | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Counts one request to Path answered with Status.
-spec inc(binary(), pos_integer()) -> ok.
inc(Path, Status) ->
    Key = {Path, Status},
    _ = ets:update_counter(?TAB, Key, 1, {Key, 0}),
    ok.

%% @doc The number of requests to Path answered with Status so far.
-spec count(binary(), pos_integer()) -> non_neg_integer().
count(Path, Status) ->
    case ets:lookup(?TAB, {Path, Status}) of
        [{_, N}] -> N;
        [] -> 0
    end.

%% @doc The metrics page.
-spec render() -> iodata().
render() ->
    Rows = lists:sort(ets:tab2list(?TAB)),
    Version = erlsvc_config:get(version),
    [<<"# HELP http_requests_total HTTP requests by path and status.\n">>,
     <<"# TYPE http_requests_total counter\n">>,
     [line(<<"http_requests_total">>, P, S, N) || {{P, S}, N} <- Rows],
     <<"# HELP http_request_errors_total HTTP requests answered with a 5xx status, by path and status.\n">>,
     <<"# TYPE http_request_errors_total counter\n">>,
     [line(<<"http_request_errors_total">>, P, S, N) || {{P, S}, N} <- Rows, S >= 500],
     <<"# HELP erlsvc_build_info The running version.\n">>,
     <<"# TYPE erlsvc_build_info gauge\n">>,
     <<"erlsvc_build_info{version=\"">>, escape(Version), <<"\"} 1\n">>,
     <<"# HELP erlsvc_fail_rate The configured share of requests that fail.\n">>,
     <<"# TYPE erlsvc_fail_rate gauge\n">>,
     <<"erlsvc_fail_rate ">>, float_to_list(erlsvc_config:get(fail_rate), [{decimals, 4}, compact]), <<"\n">>].

line(Name, Path, Status, N) ->
    [Name, <<"{path=\"">>, escape(Path), <<"\",status=\"">>, integer_to_binary(Status),
     <<"\"} ">>, integer_to_binary(N), <<"\n">>].

escape(S) ->
    B = unicode:characters_to_binary(S),
    binary:replace(binary:replace(binary:replace(B, <<"\\">>, <<"\\\\">>, [global]),
                                  <<"\"">>, <<"\\\"">>, [global]),
                   <<"\n">>, <<"\\n">>, [global]).

init([]) ->
    _ = ets:new(?TAB, [named_table, public, set, {write_concurrency, true}]),
    {ok, #{}}.

handle_call(_Req, _From, S) -> {reply, ok, S}.
handle_cast(_Msg, S) -> {noreply, S}.
