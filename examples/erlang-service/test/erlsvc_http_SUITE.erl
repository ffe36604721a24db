%% Common Test: the service over real HTTP on a free loopback port.
-module(erlsvc_http_SUITE).
-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([health/1, initialize/1, not_found/1, metrics_count_requests/1,
         failure_share/1, config_reload/1, keep_alive/1]).

all() -> [health, initialize, not_found, metrics_count_requests, failure_share,
          config_reload, keep_alive].

init_per_suite(Config) ->
    application:set_env(erlsvc, port, 0),
    {ok, Apps} = application:ensure_all_started(erlsvc),
    {ok, _} = application:ensure_all_started(inets),
    [{apps, Apps}, {base, "http://127.0.0.1:" ++ integer_to_list(erlsvc_http:port())} | Config].

end_per_suite(Config) ->
    [application:stop(A) || A <- lists:reverse(?config(apps, Config))],
    ok.

init_per_testcase(_Case, Config) ->
    ok = erlsvc_config:set(fail_rate, 0.0),
    Config.

end_per_testcase(_Case, _Config) ->
    ok = erlsvc_config:set(fail_rate, 0.0),
    ok = erlsvc_config:set(config_file, ""),
    ok.

get(Config, Path) ->
    {ok, {{_, Status, _}, Headers, Body}} =
        httpc:request(get, {?config(base, Config) ++ Path, []}, [{timeout, 5000}], []),
    {Status, Headers, Body}.

health(Config) ->
    {200, Headers, Body} = get(Config, "/health"),
    "application/json" = proplists:get_value("content-type", Headers),
    {ok, #{<<"status">> := <<"ok">>, <<"version">> := <<"1.0.0">>}} =
        erlsvc_json:decode(list_to_binary(Body)).

initialize(Config) ->
    Req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}",
    {ok, {{_, 200, _}, _, Body}} =
        httpc:request(post, {?config(base, Config) ++ "/initialize", [], "application/json", Req}, [], []),
    {ok, #{<<"jsonrpc">> := <<"2.0">>, <<"id">> := 1,
           <<"result">> := #{<<"serverInfo">> := #{<<"name">> := <<"erlsvc">>},
                             <<"protocolVersion">> := <<"2025-06-18">>}}} =
        erlsvc_json:decode(list_to_binary(Body)),
    {405, _, _} = get(Config, "/initialize").

not_found(Config) ->
    {404, _, _} = get(Config, "/nope").

metrics_count_requests(Config) ->
    Before = erlsvc_metrics:count(<<"/health">>, 200),
    [{200, _, _} = get(Config, "/health") || _ <- lists:seq(1, 5)],
    {200, _, Body} = get(Config, "/metrics"),
    Line = "http_requests_total{path=\"/health\",status=\"200\"} " ++ integer_to_list(Before + 5),
    ?assertNotEqual(nomatch, string:find(Body, Line)),
    ?assertNotEqual(nomatch, string:find(Body, "# TYPE http_request_errors_total counter")),
    ?assertNotEqual(nomatch, string:find(Body, "erlsvc_build_info{version=\"1.0.0\"} 1")).

failure_share(Config) ->
    ok = erlsvc_config:set(fail_rate, 0.2),
    Codes = [element(1, get(Config, "/")) || _ <- lists:seq(1, 1000)],
    Fails = length([C || C <- Codes, C =:= 500]),
    ct:log("~p of 1000 requests failed at fail_rate 0.2", [Fails]),
    %% Binomial(1000, 0.2): mean 200, sd 12.6; 5 sd either side.
    ?assert(Fails > 137 andalso Fails < 263),
    {200, _, Body} = get(Config, "/metrics"),
    ?assertNotEqual(nomatch, string:find(Body, "http_request_errors_total{path=\"/\",status=\"500\"}")),
    %% /metrics never fails, or Prometheus would lose the scrape.
    ok = erlsvc_config:set(fail_rate, 1.0),
    [{200, _, _} = get(Config, "/metrics") || _ <- lists:seq(1, 20)],
    {500, _, _} = get(Config, "/health").

config_reload(Config) ->
    File = filename:join(?config(priv_dir, Config), "erlsvc.conf"),
    ok = file:write_file(File, "{fail_rate, 0.0}.\n{version, \"1.0.1\"}.\n"),
    ok = erlsvc_config:set(config_file, File),
    ok = erlsvc_config:reload(),
    {200, _, B1} = get(Config, "/health"),
    ?assertNotEqual(nomatch, string:find(B1, "1.0.1")),
    %% Changed on disk, picked up by the poller without a restart.
    Pid = whereis(erlsvc_http),
    timer:sleep(1100), % mtime has a one-second resolution
    ok = file:write_file(File, "{fail_rate, 1.0}.\n"),
    wait_until(fun() -> element(1, get(Config, "/health")) =:= 500 end, 30),
    Pid = whereis(erlsvc_http).

keep_alive(Config) ->
    %% One connection, many requests (the reverse proxy keeps connections).
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, list_to_integer(lists:last(string:split(?config(base, Config), ":", trailing))),
                              [binary, {active, false}, {packet, http_bin}]),
    [begin
         ok = gen_tcp:send(S, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"),
         {ok, {http_response, _, 200, _}} = gen_tcp:recv(S, 0, 5000),
         Len = headers(S, 0),
         ok = inet:setopts(S, [{packet, raw}]),
         {ok, _} = gen_tcp:recv(S, Len, 5000),
         ok = inet:setopts(S, [{packet, http_bin}])
     end || _ <- lists:seq(1, 10)],
    gen_tcp:close(S).

headers(S, Len) ->
    case gen_tcp:recv(S, 0, 5000) of
        {ok, {http_header, _, 'Content-Length', _, V}} -> headers(S, binary_to_integer(V));
        {ok, {http_header, _, _, _, _}} -> headers(S, Len);
        {ok, http_eoh} -> Len
    end.

wait_until(_F, 0) -> ct:fail(timeout);
wait_until(F, N) ->
    case F() of
        true -> ok;
        false -> timer:sleep(100), wait_until(F, N - 1)
    end.
