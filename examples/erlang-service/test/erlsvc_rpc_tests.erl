-module(erlsvc_rpc_tests).
-include_lib("eunit/include/eunit.hrl").

rpc_test_() ->
    {setup,
     fun() -> application:set_env(erlsvc, port, 0),
              {ok, Apps} = application:ensure_all_started(erlsvc),
              Apps end,
     fun(Apps) -> [application:stop(A) || A <- lists:reverse(Apps)] end,
     [fun initialize/0, fun unknown_method/0, fun parse_error/0, fun invalid_request/0]}.

initialize() ->
    Req = <<"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"initialize\","
            "\"params\":{\"protocolVersion\":\"2024-11-05\",\"capabilities\":{},"
            "\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}">>,
    {200, Body} = erlsvc_rpc:handle(Req),
    {ok, #{<<"id">> := 7, <<"result">> := Result}} = erlsvc_json:decode(iolist_to_binary(Body)),
    ?assertMatch(#{<<"protocolVersion">> := <<"2024-11-05">>,
                   <<"serverInfo">> := #{<<"name">> := <<"erlsvc">>, <<"version">> := <<"1.0.0">>}},
                 Result).

unknown_method() ->
    {200, Body} = erlsvc_rpc:handle(<<"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"nope\"}">>),
    ?assertMatch({ok, #{<<"id">> := <<"a">>, <<"error">> := #{<<"code">> := -32601}}},
                 erlsvc_json:decode(iolist_to_binary(Body))).

parse_error() ->
    {400, Body} = erlsvc_rpc:handle(<<"{not json">>),
    ?assertMatch({ok, #{<<"id">> := null, <<"error">> := #{<<"code">> := -32700}}},
                 erlsvc_json:decode(iolist_to_binary(Body))).

invalid_request() ->
    {400, Body} = erlsvc_rpc:handle(<<"{\"id\":3,\"method\":\"initialize\"}">>),
    ?assertMatch({ok, #{<<"id">> := 3, <<"error">> := #{<<"code">> := -32600}}},
                 erlsvc_json:decode(iolist_to_binary(Body))).
