%% Edge cases of the JSON-RPC handler, the settings and the HTTP routes
%% that the other suites leave out (the pipeline's coverage gate wants
%% erlsvc_rpc at 90% and the total at 85%).
-module(erlsvc_edge_tests).
-include_lib("eunit/include/eunit.hrl").

edge_test_() ->
    {setup,
     fun() -> application:set_env(erlsvc, port, 0),
              {ok, Apps} = application:ensure_all_started(erlsvc),
              Apps end,
     fun(Apps) -> [application:stop(A) || A <- lists:reverse(Apps)] end,
     [fun ping/0, fun initialize_defaults/0, fun initialize_bad_params/0,
      fun routes/0, fun unknown_messages/0, fun reload_file/0, fun set_and_all/0]}.

decode({Status, Body}) ->
    {ok, Map} = erlsvc_json:decode(iolist_to_binary(Body)),
    {Status, Map}.

ping() ->
    ?assertMatch({200, #{<<"id">> := 1, <<"result">> := #{}}},
                 decode(erlsvc_rpc:handle(<<"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}">>))).

initialize_defaults() ->
    %% No params: the server's protocol version; an unknown one: the same.
    {200, #{<<"result">> := R1}} =
        decode(erlsvc_rpc:handle(<<"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\"}">>)),
    ?assertEqual(<<"2025-06-18">>, maps:get(<<"protocolVersion">>, R1)),
    {200, #{<<"result">> := R2}} =
        decode(erlsvc_rpc:handle(<<"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\","
                                   "\"params\":{\"protocolVersion\":\"1999-01-01\"}}">>)),
    ?assertEqual(<<"2025-06-18">>, maps:get(<<"protocolVersion">>, R2)).

initialize_bad_params() ->
    ?assertMatch({200, #{<<"error">> := #{<<"code">> := -32602}}},
                 decode(erlsvc_rpc:handle(<<"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\",\"params\":[1]}">>))),
    ?assertMatch({400, #{<<"id">> := null, <<"error">> := #{<<"code">> := -32600}}},
                 decode(erlsvc_rpc:handle(<<"[1,2]">>))).

routes() ->
    ?assertMatch({200, _, _}, erlsvc_handler:route("GET", "/health", <<>>)),
    ?assertMatch({200, _, _}, erlsvc_handler:route("GET", "/", <<>>)),
    ?assertMatch({200, _, _}, erlsvc_handler:route("GET", "/config", <<>>)),
    ?assertMatch({200, _, _}, erlsvc_handler:route("GET", "/metrics", <<>>)),
    ?assertMatch({405, _, _}, erlsvc_handler:route("DELETE", "/health", <<>>)),
    ?assertMatch({404, _, _}, erlsvc_handler:route("GET", "/nope", <<>>)).

unknown_messages() ->
    ?assertEqual({error, unknown_call}, gen_server:call(erlsvc_config, what)),
    ?assertEqual({error, unknown_call}, gen_server:call(erlsvc_http, what)),
    gen_server:cast(erlsvc_config, what),
    gen_server:cast(erlsvc_http, what),
    erlsvc_config ! what,
    erlsvc_http ! what,
    ?assert(is_integer(erlsvc_http:port())).

reload_file() ->
    File = filename:join(os:getenv("TMPDIR", "/tmp"), "erlsvc_edge_" ++ os:getpid() ++ ".config"),
    ok = file:write_file(File, "{fail_rate, 0.0}.\n{version, \"9.9.9\"}.\n{other, 1}.\n"),
    Before = erlsvc_config:get(version),
    ok = erlsvc_config:set(config_file, File),
    ok = erlsvc_config:reload(),
    ?assertEqual("9.9.9", erlsvc_config:get(version)),
    ok = file:write_file(File, "not terms"),
    ok = erlsvc_config:reload(),
    ?assertEqual("9.9.9", erlsvc_config:get(version)),
    ok = file:delete(File),
    ok = erlsvc_config:reload(),
    ok = erlsvc_config:set(config_file, ""),
    ok = erlsvc_config:reload(),
    ok = erlsvc_config:set(version, Before).

set_and_all() ->
    ok = erlsvc_config:set(fail_rate, 0.0),
    All = erlsvc_config:all(),
    ?assertEqual(0.0, proplists:get_value(fail_rate, All)),
    ?assertEqual(error, erlsvc_config:parse_rate("abc")),
    ?assertEqual(error, erlsvc_config:parse_rate("x%")),
    ?assertEqual({ok, 0.5}, erlsvc_config:parse_rate(".5")),
    ?assertEqual({ok, 1.0}, erlsvc_config:parse_rate(7)),
    ?assertEqual({ok, 0.0}, erlsvc_config:parse_rate("-3")).
